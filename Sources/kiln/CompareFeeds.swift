import Foundation
import KilnData
import KilnIR
import KilnPasses
import KilnRuntime

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
    /// or a data set as `features` and `labels` arrays, cut into batches like `kiln train`.
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
            let (feature, batch) = try batchShape()
            let set = try FashionMNIST.load(train: true, limit: Swift.max(batch, steps * batch))
                .reshaped(Array(feature.type.shape.dims.dropFirst()))
            try useBatches(of: set, feature: feature, batch: batch)
            description = "Fashion-MNIST training images, batches of \(batch) (seed \(seed))"
        case let path?:
            let arrays = try NumPyFormat.readArchive(path: path)
            if let features = arrays["features"], let labels = arrays["labels"], graph.input(named: "features") == nil {
                let (feature, batch) = try batchShape()
                let set = try Dataset(features: features, labels: labels).reshaped(Array(feature.type.shape.dims.dropFirst()))
                try useBatches(of: set, feature: feature, batch: batch)
                description = "\(path): \(set.count) examples, batches of \(batch) (seed \(seed))"
            } else {
                try useArrays(arrays, path: path)
                description = "\(path): arrays \(arrays.keys.sorted().joined(separator: ", "))"
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

    /// The input taking examples (the first f32 input other than `lr`) and the batch size.
    private func batchShape() throws -> (Input, Int) {
        guard let feature = graph.inputs.first(where: { $0.type.dtype == .f32 && $0.name != TrainingStep.learningRateInput }),
              let batch = feature.type.shape.dims.first, batch > 0 else {
            throw CLIError("--data needs an f32 input with a batch axis to feed examples to")
        }
        return (feature, batch)
    }

    private mutating func useBatches(of set: Dataset, feature: Input, batch: Int) throws {
        let batches = set.trainingBatches(size: batch, seed: seed)
        guard !batches.isEmpty else { throw CLIError("--data: no batch of \(batch) examples") }
        let label = graph.inputs.first { $0.type.dtype == .i32 }
        perStep = { step in
            let b = batches[step % batches.count]
            guard b.features.elementCount == feature.type.elementCount else {
                throw CLIError("--data: a batch of \(b.features.type) does not fit input '\(feature.name)' \(feature.type)")
            }
            var feeds = [feature.name: Tensor(type: feature.type, storage: b.features.storage)]
            if let label {
                guard b.labels.type == label.type else {
                    throw CLIError("--data: labels \(b.labels.type) do not fit input '\(label.name)' \(label.type)")
                }
                feeds[label.name] = b.labels
            }
            return feeds
        }
    }

    private mutating func useArrays(_ arrays: [String: Tensor], path: String) throws {
        var fixed: [String: Tensor] = [:], stepped: [String: Tensor] = [:]
        for (name, tensor) in arrays {
            guard let input = graph.input(named: name) else {
                throw CLIError("--data \(path): array '\(name)' is not an input of the graph (nor features/labels)")
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
