import KilnIR

/// Sums of zero-padded pieces that tile one axis become a concatenation: the gradient of
/// slicing a tensor into parts (an LSTM's four gates, attention's q/k/v) is Σ pad(dᵢ), which
/// as written reads every piece at every output element (four clamped loads and selects per
/// element of the gates' gradient); as `concat` it is one contiguous copy per piece. Where the
/// pieces cover only part of the axis, the concatenation is padded to the full extent.
/// Part of `Simplify`; a sum whose pieces overlap, leave gaps between them, or pad more than
/// one axis is left alone. The replaced adds die when nothing else reads them.
enum PadSums {
    /// Pieces of a value along `axis`: (value, first index on the axis), in any order.
    private struct Pieces {
        var axis: Int
        var parts: [(value: String, start: Int, length: Int)]
        var sorted: [(value: String, start: Int, length: Int)] { parts.sorted { $0.start < $1.start } }
        /// The pieces end to end, without gaps or overlaps.
        var contiguous: Bool {
            let s = sorted
            return zip(s, s.dropFirst()).allSatisfy { $0.start + $0.length == $1.start }
        }
    }

    static func apply(_ graph: Graph) -> Graph {
        let types = graph.valueTypes
        var pieces: [String: Pieces] = [:]
        var names = FreshNames(graph)
        var result = graph
        result.nodes = []
        var changed = false
        for node in graph.nodes {
            guard let type = node.type, type.dtype == .f32 else {
                result.nodes.append(node)
                continue
            }
            if node.op == .pad, let piece = padPiece(node, types: types) {
                pieces[node.name] = piece
            } else if node.op == .add, node.operands.count == 2, types[node.operands[0]] == type, types[node.operands[1]] == type,
                      let a = pieces[node.operands[0]], let b = pieces[node.operands[1]], a.axis == b.axis {
                let merged = Pieces(axis: a.axis, parts: a.parts + b.parts)
                if merged.contiguous {
                    pieces[node.name] = merged
                    let s = merged.sorted, before = s[0].start, end = s[s.count - 1].start + s[s.count - 1].length
                    let covered = before == 0 && end == type.shape[merged.axis]
                    var concatShape = type.shape.dims
                    concatShape[merged.axis] = end - before
                    let concat = Node(name: covered ? node.name : names.make(), op: .concat, operands: s.map(\.value),
                                      attributes: Attributes(["axis": .int(merged.axis)]),
                                      type: TensorType(.f32, Shape(concatShape)), location: node.location)
                    result.nodes.append(concat)
                    if !covered {
                        var padBefore = [Int](repeating: 0, count: type.shape.rank), padAfter = padBefore
                        padBefore[merged.axis] = before
                        padAfter[merged.axis] = type.shape[merged.axis] - end
                        result.nodes.append(Node(name: node.name, op: .pad, operands: [concat.name],
                                                 attributes: Attributes(["before": .ints(padBefore), "after": .ints(padAfter)]),
                                                 type: type, location: node.location))
                    }
                    changed = true
                    continue
                }
            }
            result.nodes.append(node)
        }
        return changed ? DeadCodeElimination().eliminate(result, changed: &changed) : graph
    }

    /// A pad along exactly one axis (or none) as one piece of its output.
    private static func padPiece(_ node: Node, types: [String: TensorType]) -> Pieces? {
        let before = node.attributes.ints("before"), after = node.attributes.ints("after")
        guard let x = types[node.operands[0]], x.shape.rank > 0, before.count == x.shape.rank, after.count == x.shape.rank else { return nil }
        let padded = (0..<x.shape.rank).filter { before[$0] != 0 || after[$0] != 0 }
        guard padded.count <= 1, before.allSatisfy({ $0 >= 0 }), after.allSatisfy({ $0 >= 0 }) else { return nil }
        let axis = padded.first ?? 0
        return Pieces(axis: axis, parts: [(node.operands[0], before[axis], x.shape[axis])])
    }
}
