import KilnIR

/// Builds typed nodes for rewriting passes: thin, named helpers over `GraphBuilder` so a
/// gradient or optimiser rule reads like the math it implements.
struct NodeEmitter {
    var builder: GraphBuilder
    /// Attached to every emitted node, so errors in generated code point at the source.
    var location: SourceLocation?

    init(_ graph: Graph) {
        builder = GraphBuilder(graph, infersTypes: true)
    }

    var graph: Graph { builder.graph }

    func type(_ name: String) -> TensorType {
        builder.type(of: name) ?? TensorType(.f32, .scalar)
    }

    func shape(_ name: String) -> Shape { type(name).shape }

    mutating func emit(_ op: OpKind, _ operands: [String], _ attributes: [(String, AttrValue)] = [],
                       name: String? = nil) throws -> String {
        try builder.add(op, operands, attributes, name: name, at: location)
    }

    /// A scalar (or filled) f32 constant. The value is rounded to float32 and stored as the
    /// shortest decimal that denotes that float, so `1 − 0.9` prints as `0.1`, which is what runs.
    mutating func constant(_ value: Double, shape: [Int] = []) throws -> String {
        let canonical = Double(String(Float(value))) ?? value
        var attributes: [(String, AttrValue)] = [("value", .float(canonical))]
        if !shape.isEmpty { attributes.append(("shape", .ints(shape))) }
        return try emit(.constant, [], attributes)
    }

    mutating func add(_ a: String, _ b: String) throws -> String { try emit(.add, [a, b]) }
    mutating func sub(_ a: String, _ b: String) throws -> String { try emit(.sub, [a, b]) }
    mutating func mul(_ a: String, _ b: String) throws -> String { try emit(.mul, [a, b]) }
    mutating func div(_ a: String, _ b: String) throws -> String { try emit(.div, [a, b]) }
    mutating func neg(_ a: String) throws -> String { try emit(.neg, [a]) }

    mutating func mul(_ a: String, _ scalar: Double) throws -> String { try mul(a, try constant(scalar)) }
    mutating func add(_ a: String, _ scalar: Double) throws -> String { try add(a, try constant(scalar)) }

    mutating func reshape(_ a: String, to shape: Shape) throws -> String {
        self.shape(a) == shape ? a : try emit(.reshape, [a], [("shape", .ints(shape.dims))])
    }

    mutating func broadcast(_ a: String, to shape: Shape) throws -> String {
        self.shape(a) == shape ? a : try emit(.broadcast_to, [a], [("shape", .ints(shape.dims))])
    }

    /// Sums `gradient` (shaped like a broadcast result) back down to `target`, the shape of
    /// the operand that was broadcast: the adjoint of numpy broadcasting.
    mutating func unbroadcast(_ gradient: String, to target: Shape) throws -> String {
        let from = shape(gradient)
        if from == target { return gradient }
        let lead = from.rank - target.rank
        var axes = Array(0..<lead)
        for axis in 0..<target.rank where target[axis] == 1 && from[axis + lead] != 1 { axes.append(axis + lead) }
        let summed = axes.isEmpty ? gradient : try emit(.reduce_sum, [gradient], [("axes", .ints(axes))])
        return try reshape(summed, to: target)
    }
}
