import KilnData
import KilnIR
import KilnPasses
import KilnRuntime

extension Model {
    /// Every output of the inference graph for `inputs` (input name → tensor of [n, …] with the
    /// same n for every input, n ≥ 1): run in batches of `batchSize`, each output [n, …].
    public func predictAll(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        let count = try exampleCount(inputs)
        let backend = try compiledBackend()
        for output in outputs {
            guard inferenceGraph.valueTypes[output]?.shape.dims.first == batchSize else {
                throw Diagnostic("model '\(graph.name)': output '\(output)' \(inferenceGraph.valueTypes[output].map(\.description) ?? "") is not one row per example (batch \(batchSize)), so it cannot be predicted per example")
            }
        }
        var results: [String: Tensor] = [:]
        var start = 0
        while start < count {
            let rows = Swift.min(batchSize, count - start)
            var feeds: [String: Tensor] = [:]
            for input in self.inputs {
                guard let given = inputs[input.name] else { continue }
                feeds[input.name] = Self.rows(of: given, from: start, count: rows, paddedTo: batchSize)
            }
            var scratch = weights
            let produced = try backend.run(inputs: feeds, state: &scratch, step: 0)
            for output in outputs {
                guard let value = produced[output] else { throw Diagnostic("model '\(graph.name)': the backend returned no '\(output)'") }
                if results[output] == nil {
                    results[output] = Tensor(zeros: TensorType(value.dtype, Shape([count] + value.shape.dims.dropFirst())))
                }
                if let whole = results[output] { Self.copyRows(value, rows: rows, into: whole, at: start) }
            }
            start += rows
        }
        return results
    }

    /// The primary output (`primaryOutput`: a classifier's probabilities) for the examples of `x`
    /// ([n, …] matching the model's only input).
    public func predict(_ x: Tensor) throws -> Tensor {
        guard inputs.count == 1, let input = inputs.first else {
            throw Diagnostic("model '\(graph.name)' has \(inputs.count) inputs (\(inputs.map(\.name).joined(separator: ", "))): call predictAll with one tensor per input")
        }
        guard let output = primaryOutput else {
            throw Diagnostic("model '\(graph.name)' has several outputs and none declared 'as probabilities' or 'as prediction' (\(outputs.joined(separator: ", "))): call predictAll")
        }
        guard let result = try predictAll([input.name: x])[output] else { throw Diagnostic("model '\(graph.name)': no output '\(output)'") }
        return result
    }

    /// The most probable class of each example of `x` (argmax of the primary output's rows).
    public func classify(_ x: Tensor) throws -> [Int32] {
        try Self.argmax(try predict(x), model: graph.name)
    }

    static func argmax(_ scores: Tensor, model: String) throws -> [Int32] {
        guard scores.dtype == .f32, scores.shape.rank == 2, scores.shape[1] > 0 else {
            throw Diagnostic("model '\(model)': output \(scores.type) is not a [examples, classes] score table")
        }
        let (n, classes) = (scores.shape[0], scores.shape[1])
        let p = scores.floatPointer
        return (0..<n).map { row in
            var best = 0
            for j in 0..<classes where p[row * classes + j] > p[row * classes + best] { best = j }
            return Int32(best)
        }
    }

    /// The primary output for every example of `dataset`, its inputs fed from the data set's
    /// arrays (same name, else the unique array of matching type and size; `mapping`
    /// overrides), each viewed with its input's example shape (f32[N, 784] feeds [n, 1, 28, 28]).
    public func predict(_ dataset: Dataset, mapping: [String: String] = [:]) throws -> Tensor {
        guard let output = primaryOutput, let result = try predictAll(try feeds(dataset, mapping: mapping))[output] else {
            throw Diagnostic("model '\(graph.name)' has no single primary output (\(outputs.joined(separator: ", "))): call predictAll")
        }
        return result
    }

    /// The most probable class of every example of `dataset`.
    public func classify(_ dataset: Dataset, mapping: [String: String] = [:]) throws -> [Int32] {
        try Self.argmax(try predict(dataset, mapping: mapping), model: graph.name)
    }

    /// The data set's arrays as feeds of the inference graph's inputs.
    public func feeds(_ dataset: Dataset, mapping: [String: String] = [:]) throws -> [String: Tensor] {
        let plan = try FeedPlan(inputs: inputs, dataset: dataset, explicit: mapping)
        var feeds: [String: Tensor] = [:]
        for input in inputs {
            guard let array = plan.array(for: input.name), let tensor = dataset[array] else {
                throw Diagnostic("model '\(graph.name)': no data-set array feeds input '\(input.name)' (arrays: \(dataset.names.joined(separator: ", ")))")
            }
            let shape = Shape([dataset.count] + input.type.shape.dims.dropFirst())
            guard tensor.dtype == input.type.dtype, tensor.elementCount == shape.elementCount else {
                throw Diagnostic("model '\(graph.name)': data-set array '\(array)' \(tensor.type) does not hold \(dataset.count) examples of input '\(input.name)' \(input.type)")
            }
            feeds[input.name] = Tensor(type: TensorType(input.type.dtype, shape), storage: tensor.storage)
        }
        return feeds
    }

    /// Checks the fed tensors against the inputs; returns their common example count.
    private func exampleCount(_ given: [String: Tensor]) throws -> Int {
        for name in given.keys.sorted() where !inputs.contains(where: { $0.name == name }) {
            let hint = labelInputs.contains(name) ? " (a label input: prediction does not need it)" : ""
            throw Diagnostic("model '\(graph.name)' has no input '\(name)'\(hint); inputs: \(inputs.map(\.name).joined(separator: ", "))")
        }
        var count: Int?
        for input in inputs {
            guard let tensor = given[input.name] else {
                throw Diagnostic("model '\(graph.name)': no tensor for input '\(input.name)' \(input.type)")
            }
            let example = Array(input.type.shape.dims.dropFirst())
            guard tensor.dtype == input.type.dtype, tensor.shape.rank == example.count + 1,
                  Array(tensor.shape.dims.dropFirst()) == example, tensor.shape[0] >= 1 else {
                throw Diagnostic("model '\(graph.name)': input '\(input.name)' must be \(input.type.dtype)[n, \(example.map(String.init).joined(separator: ", "))] with n ≥ 1, got \(tensor.type)")
            }
            if let count, count != tensor.shape[0] {
                throw Diagnostic("model '\(graph.name)': input '\(input.name)' has \(tensor.shape[0]) examples, another input \(count)")
            }
            count = tensor.shape[0]
        }
        guard let count else { throw Diagnostic("model '\(graph.name)' has no inputs to predict from") }
        return count
    }

    /// Rows [start, start + count) of `tensor`, padded to `size` rows by repeating the last one.
    static func rows(of tensor: Tensor, from start: Int, count: Int, paddedTo size: Int) -> Tensor {
        let rowBytes = tensor.shape.rank > 0 && tensor.shape[0] > 0 ? 4 * (tensor.elementCount / tensor.shape[0]) : 0  // f32 and i32
        let result = Tensor(uninitialized: TensorType(tensor.dtype, Shape([size] + tensor.shape.dims.dropFirst())))
        for row in 0..<size {
            let source = start + Swift.min(row, count - 1)
            (result.storage.pointer + row * rowBytes).copyMemory(from: tensor.storage.pointer + source * rowBytes, byteCount: rowBytes)
        }
        return result
    }

    /// Copies the first `rows` rows of `batch` into `whole` from row `start`.
    static func copyRows(_ batch: Tensor, rows: Int, into whole: Tensor, at start: Int) {
        guard batch.shape.rank > 0, batch.shape[0] > 0 else { return }
        let rowBytes = 4 * (batch.elementCount / batch.shape[0])  // f32 and i32
        (whole.storage.pointer + start * rowBytes).copyMemory(from: batch.storage.pointer, byteCount: rows * rowBytes)
    }

    /// The inference graph compiled once (simplify, fuse, plan memory) for `backend`.
    func compiledBackend() throws -> ExecutionBackend {
        if let compiled = cachedBackend { return compiled }
        var pipeline = PassManager(OptimizingPipeline.passes)
        let made = try backend.makeBackend(for: try pipeline.run(inferenceGraph))
        cachedBackend = made
        return made
    }
}
