import Foundation

/// Structural mutations of ONNX models for fuzzing the importer (`make fuzz`, target `onnx`,
/// and `ONNXMutatorTests` in `swift test`): byte flips rarely get past protobuf decoding, so
/// these edit a decoded model the way hostile files do — attributes set to 0, −1, 2^31, 2^62;
/// input ranks 0–6 and odd dimensions; values defined twice, renamed or dropped; initializer
/// integers at the extremes — and serialise it again.
public enum ONNXMutator {
    /// The values hostile models put in integer fields.
    static let edges: [Int64] = [0, -1, 1, 2, 3, 1 << 31, -(1 << 31), 1 << 32, 1 << 40, 1 << 62, -(1 << 62), Int64.max, Int64.min]
    static let attributeNames = ["axis", "pads", "strides", "dilations", "kernel_shape", "num_outputs", "group",
                                 "output_padding", "allowzero", "perm", "axes", "keepdims", "ceil_mode", "split", "to"]

    /// A mutation of the serialised model `bytes` (nil when they are not a model).
    public static func mutate(_ bytes: [UInt8], seed: UInt64) -> [UInt8]? {
        guard var model = try? Onnx_ModelProto(serializedBytes: bytes) else { return nil }
        var rng = SplitMix(seed)
        for _ in 0...(rng.below(3)) { mutate(&model.graph, &rng) }
        return try? model.serializedBytes()
    }

    static func mutate(_ g: inout Onnx_GraphProto, _ rng: inout SplitMix) {
        let values = g.input.map(\.name) + g.initializer.map(\.name) + g.node.flatMap(\.output)
        switch rng.below(8) {
        case 0 where !g.node.isEmpty:
            // An existing or a new integer attribute at an edge value.
            let n = rng.below(g.node.count)
            if !g.node[n].attribute.isEmpty && rng.below(2) == 0 {
                let a = rng.below(g.node[n].attribute.count)
                if g.node[n].attribute[a].ints.isEmpty { g.node[n].attribute[a].i = rng.pick(edges) } else {
                    g.node[n].attribute[a].ints[rng.below(g.node[n].attribute[a].ints.count)] = rng.pick(edges)
                }
            } else {
                var a = Onnx_AttributeProto()
                a.name = rng.pick(attributeNames)
                if rng.below(2) == 0 { a.type = .int; a.i = rng.pick(edges) } else {
                    a.type = .ints; a.ints = (0..<rng.below(7)).map { _ in rng.pick(edges) }
                }
                g.node[n].attribute.removeAll { $0.name == a.name }
                g.node[n].attribute.append(a)
            }
        case 1 where !g.input.isEmpty:
            // An input of rank 0–6 or with an odd dimension.
            let i = rng.below(g.input.count)
            var shape = g.input[i].type.tensorType.shape
            if rng.below(2) == 0 || shape.dim.isEmpty {
                shape.dim = (0..<rng.below(7)).map { _ in var d = Onnx_TensorShapeProto.Dimension(); d.dimValue = Int64(1 + rng.below(4)); return d }
            } else {
                shape.dim[rng.below(shape.dim.count)].dimValue = rng.pick(edges)
            }
            g.input[i].type.tensorType.shape = shape
        case 2 where !g.node.isEmpty && !values.isEmpty:
            // A value defined twice: a node's output renamed to an existing value.
            let n = rng.below(g.node.count)
            if !g.node[n].output.isEmpty { g.node[n].output[rng.below(g.node[n].output.count)] = rng.pick(values) }
        case 3 where !g.node.isEmpty && !values.isEmpty:
            // An input renamed to another value, to an unknown one, or omitted.
            let n = rng.below(g.node.count)
            if !g.node[n].input.isEmpty {
                g.node[n].input[rng.below(g.node[n].input.count)] = rng.pick(values + ["", "undefined"])
            }
        case 4:
            // Integer initializer data at the extremes (shapes, axes, indices), or dims changed.
            for (t, tensor) in g.initializer.enumerated() where tensor.dataType == ONNXDataType.int64 && rng.below(2) == 0 {
                if !tensor.int64Data.isEmpty { g.initializer[t].int64Data[rng.below(tensor.int64Data.count)] = rng.pick(edges) }
                else if !tensor.dims.isEmpty { g.initializer[t].dims[rng.below(tensor.dims.count)] = rng.pick(edges) }
            }
        case 5 where !g.node.isEmpty:
            g.node.insert(g.node[rng.below(g.node.count)], at: rng.below(g.node.count + 1))
        case 6 where !g.node.isEmpty:
            g.node.remove(at: rng.below(g.node.count))
        case 7 where !g.node.isEmpty:
            // Another op on the same operands (shape ops on scalars, windows on vectors…).
            let ops = ["Concat", "Gather", "Split", "Hardmax", "Reshape", "Expand", "Range", "Slice", "Conv", "MaxPool",
                       "ConvTranspose", "GatherElements", "Tile", "Trilu", "Pad", "Squeeze", "Unsqueeze", "Transpose"]
            g.node[rng.below(g.node.count)].opType = rng.pick(ops)
        default:
            break
        }
    }

    /// SplitMix64: small, seedable, the same sequence everywhere.
    struct SplitMix {
        var state: UInt64
        init(_ seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }
}
