import Foundation
import KilnData
import KilnCheck
import KilnIR
import KilnPasses
import KilnRuntime
import KilnTraining

/// The inputs of each step of `kiln compare`: given `.npy` files, batches of a data set, or
/// seeded random values that look like real data; the training step's `lr` from the optimiser.
struct CompareFeeds {
    let graph: Graph
    let given: [String: Tensor]
    let learningRate: Float
    let seed: UInt64
    private var perStep: (Int) throws -> [String: Tensor] = { _ in [:] }
    private(set) var description = ""

    /// `data` is nil, `fashion-mnist`, or a `.npz` file: arrays named after inputs (the input's
    /// shape, used every step, or one more leading axis, step s taking slice s mod its length),
    /// or a data set whose arrays feed the inputs as in `kiln train`, cut into batches.
    init(graph: Graph, given: [String: Tensor], data: String?, steps: Int, learningRate: Float, seed: UInt64) throws {
        self.graph = graph
        self.given = given
        self.learningRate = learningRate
        self.seed = seed
        for (name, tensor) in given {
            guard let input = graph.input(named: name) else { throw CLIError("--input \(name): the graph has no input '\(name)'") }
            guard tensor.type == input.type else { throw CLIError("--input \(name): expects \(input.type), the file holds \(tensor.type)") }
        }
        let g = graph, rate = learningRate, seed = seed
        switch data {
        case nil:
            perStep = { ComparisonInputs.random(for: g, step: $0, seed: seed, learningRate: rate) }
            description = describeRandom()
        case "fashion-mnist":
            let batch = try batchSize()
            let set = try FashionMNIST.load(train: true, limit: Swift.max(batch, steps * batch))
            try useBatches(of: set, batch: batch)
            description = "Fashion-MNIST training images, batches of \(batch) (seed \(seed))"
        case let path?:
            let arrays = try NumPyFormat.readArchive(path: path)
            if arrays.keys.allSatisfy({ graph.input(named: $0) != nil }) {
                try useArrays(arrays, path: path)
                description = "\(path): arrays \(arrays.keys.sorted().joined(separator: ", "))"
            } else {
                let batch = try batchSize()
                let set: Dataset
                do { set = try Dataset(arrays) } catch let d as Diagnostic { throw CLIError("--data \(path): \(d.message)") }
                try useBatches(of: set, batch: batch)
                description = "\(path): \(set.count) examples, batches of \(batch) (seed \(seed))"
            }
        }
        if !given.isEmpty { description += (description == "given" ? ": " : "; given: ") + given.keys.sorted().joined(separator: ", ") }
    }

    /// The feeds of step `step`.
    func feeds(_ step: Int) throws -> [String: Tensor] {
        var feeds = try perStep(step).merging(given) { $1 }
        if let lr = graph.input(named: TrainingStep.learningRateInput), lr.type.elementCount == 1, given[lr.name] == nil {
            feeds[lr.name] = Tensor(type: lr.type, storage: Tensor.scalar(learningRate).storage)
        }
        for input in graph.inputs where feeds[input.name] == nil {
            throw CLIError("no value for input '\(input.name)' (expects \(input.type)): pass --input \(input.name)=PATH.npy")
        }
        return feeds
    }

    private func describeRandom() -> String {
        let ranges = ComparisonInputs.classRanges(graph)
        let ints = graph.inputs.filter { $0.type.dtype == .i32 && given[$0.name] == nil }
            .map { "\($0.name) in [0, \(ranges[$0.name] ?? 2))" }
        guard graph.inputs.contains(where: { given[$0.name] == nil && $0.name != TrainingStep.learningRateInput }) else { return "given" }
        return "random (seed \(seed)): floats uniform in [0, 1)" + (ints.isEmpty ? "" : ", " + ints.joined(separator: ", "))
    }

    /// The data inputs (all but `lr` and given ones) and their common batch size.
    private var dataInputs: [Input] {
        graph.inputs.filter { $0.name != TrainingStep.learningRateInput && given[$0.name] == nil }
    }

    private func batchSize() throws -> Int {
        guard let batch = dataInputs.first?.type.shape.dims.first, batch > 0 else {
            throw CLIError("--data needs an input with a batch axis to feed examples to")
        }
        return batch
    }

    /// Batches of a data set, each graph input fed by its array as `kiln train` feeds it.
    private mutating func useBatches(of set: Dataset, batch: Int) throws {
        let batches = set.trainingBatches(size: batch, seed: seed)
        guard !batches.isEmpty else { throw CLIError("--data: no batch of \(batch) examples") }
        let inputs = dataInputs
        let plan: FeedPlan
        do { plan = try FeedPlan(inputs: inputs, dataset: set) } catch let d as Diagnostic { throw CLIError("--data: \(d.message)") }
        perStep = { step in
            do { return try plan.feeds(batches[step % batches.count], inputs: inputs) } catch let d as Diagnostic {
                throw CLIError("--data: \(d.message)")
            }
        }
    }

    private mutating func useArrays(_ arrays: [String: Tensor], path: String) throws {
        var fixed: [String: Tensor] = [:], stepped: [String: Tensor] = [:]
        for (name, tensor) in arrays {
            guard let input = graph.input(named: name) else {
                throw CLIError("--data \(path): array '\(name)' is not an input of the graph")
            }
            if tensor.type == input.type {
                fixed[name] = tensor
            } else if tensor.dtype == input.type.dtype, tensor.shape.rank == input.type.shape.rank + 1,
                      Array(tensor.shape.dims.dropFirst()) == input.type.shape.dims, tensor.shape.dims[0] > 0 {
                stepped[name] = tensor
            } else {
                throw CLIError("--data \(path): array '\(name)' is \(tensor.type); input '\(name)' expects \(input.type) or [K] + that shape")
            }
        }
        let g = graph
        perStep = { step in
            var feeds = fixed
            for (name, tensor) in stepped {
                guard let input = g.input(named: name) else { continue }
                let bytes = input.type.byteCount, k = step % tensor.shape.dims[0]
                let slice = Tensor(uninitialized: input.type)
                slice.storage.pointer.copyMemory(from: tensor.storage.pointer + k * bytes, byteCount: bytes)
                feeds[name] = slice
            }
            return feeds
        }
    }
}
