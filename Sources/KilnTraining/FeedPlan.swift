import KilnData
import KilnIR
import KilnRuntime

/// Which data-set array feeds each of a graph's data inputs, decided once per data set and
/// checked (dtype, values per example) before any step runs.
///
/// An input is fed by, in order: the array given explicitly (`--feed x=images`); the array
/// of the same name; the one array left whose dtype and values per example match the input's
/// (so Fashion-MNIST's `images` feed a graph's `x: f32[64, 1, 28, 28]`). Anything else is an
/// error naming the input and the arrays.
public struct FeedPlan: Sendable, Equatable, CustomStringConvertible {
    /// (graph input, data-set array), in the graph's input order.
    public let sources: [Source]

    public struct Source: Sendable, Equatable {
        public let input: String
        public let array: String
    }

    /// Plans feeds for `inputs` (each with the batch as its first axis) from arrays described
    /// by their per-example types; `explicit` maps input names to array names.
    public init(inputs: [Input], arrays: [String: TensorType], explicit: [String: String] = [:]) throws {
        let inputNames = Set(inputs.map(\.name))
        for (input, array) in explicit.sorted(by: { $0.key < $1.key }) {
            guard inputNames.contains(input) else {
                throw Diagnostic("feed \(input)=\(array): the graph has no input '\(input)' (inputs: \(inputs.map(\.name).joined(separator: ", ")))")
            }
            guard arrays[array] != nil else {
                throw Diagnostic("feed \(input)=\(array): the data set has no array '\(array)' (arrays: \(Self.describe(arrays)))")
            }
        }
        // Explicit feeds are checked before anything is inferred: `--feed x=labels` must be
        // reported as x's mismatch, not as 'labels' having lost its array.
        for input in inputs {
            if let name = explicit[input.name], let example = arrays[name] { try Self.check(input, name, example) }
        }
        var claimed = Set(explicit.values)
        var chosen: [String: String] = explicit
        // Names first, so a dtype match never steals the array that is named like another input.
        for input in inputs where chosen[input.name] == nil && arrays[input.name] != nil && !claimed.contains(input.name) {
            chosen[input.name] = input.name
            claimed.insert(input.name)
        }
        for input in inputs where chosen[input.name] == nil {
            let size = input.type.shape.dims.dropFirst().reduce(1, *)
            let fits = arrays.filter { !claimed.contains($0.key) && $0.value.dtype == input.type.dtype && $0.value.elementCount == size }
                .keys.sorted()
            guard fits.count == 1, let array = fits.first else {
                if arrays[input.name] != nil, let taker = explicit.first(where: { $0.value == input.name })?.key {
                    throw Diagnostic("input '\(input.name)' \(input.type) has no data: its array '\(input.name)' feeds '\(taker)' (--feed \(taker)=\(input.name)); give '\(input.name)' another with --feed \(input.name)=NAME")
                }
                let why = fits.isEmpty
                    ? "no array is named '\(input.name)' and none left has dtype \(input.type.dtype) with \(size) values per example"
                    : "no array is named '\(input.name)' and several fit (\(fits.joined(separator: ", "))); choose one with --feed \(input.name)=NAME"
                throw Diagnostic("input '\(input.name)' \(input.type) has no data: \(why) (arrays: \(Self.describe(arrays)))")
            }
            chosen[input.name] = array
            claimed.insert(array)
        }
        for input in inputs {
            guard let name = chosen[input.name], let example = arrays[name] else { continue }
            try Self.check(input, name, example)
        }
        sources = inputs.compactMap { input in chosen[input.name].map { Source(input: input.name, array: $0) } }
    }

    /// Throws unless array `name` (one example of type `example`) can feed `input`.
    static func check(_ input: Input, _ name: String, _ example: TensorType) throws {
        let size = input.type.shape.dims.dropFirst().reduce(1, *)
        guard example.dtype == input.type.dtype else {
            throw Diagnostic("input '\(input.name)' \(input.type) is fed array '\(name)' of dtype \(example.dtype); the dtypes must agree")
        }
        guard example.elementCount == size else {
            throw Diagnostic("input '\(input.name)' \(input.type) takes \(size) values per example, array '\(name)' has \(example.elementCount) (\(example.shape))")
        }
    }

    /// The plan for a data set's arrays.
    public init(inputs: [Input], dataset: Dataset, explicit: [String: String] = [:]) throws {
        try self.init(inputs: inputs, arrays: Self.exampleTypes(dataset.arrays), explicit: explicit)
    }

    /// Per-example types of arrays whose first axis indexes examples.
    public static func exampleTypes(_ arrays: [String: Tensor]) -> [String: TensorType] {
        arrays.mapValues { TensorType($0.dtype, Shape(Array($0.shape.dims.dropFirst()))) }
    }

    /// The array feeding `input`, if the plan feeds it.
    public func array(for input: String) -> String? { sources.first { $0.input == input }?.array }

    /// The feeds of one batch: each array's rows viewed with its input's type (no copy).
    public func feeds(_ batch: Batch, inputs: [Input]) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for source in sources {
            guard let input = inputs.first(where: { $0.name == source.input }), let rows = batch[source.array] else {
                throw Diagnostic("batch has no array '\(source.array)' for input '\(source.input)'")
            }
            guard rows.elementCount == input.type.elementCount, rows.dtype == input.type.dtype else {
                throw Diagnostic("batch array '\(source.array)' \(rows.type) does not fit input '\(input.name)' \(input.type)")
            }
            result[input.name] = Tensor(type: input.type, storage: rows.storage)
        }
        return result
    }

    public var description: String { sources.map { "\($0.input) ← \($0.array)" }.joined(separator: ", ") }

    static func describe(_ arrays: [String: TensorType]) -> String {
        arrays.isEmpty ? "none" : arrays.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.dtype)[N\($0.value.shape.dims.map { ", \($0)" }.joined())]" }.joined(separator: ", ")
    }
}
