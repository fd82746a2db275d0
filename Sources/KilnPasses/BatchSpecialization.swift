import KilnIR

/// Re-specialises a forward graph to another static batch size: Kiln's shapes are static, so a
/// different batch is a different graph, compiled anew (as XLA recompiles per shape).
///
/// The batch is the first axis of the graph's inputs whose first dimension is `from`. The
/// rewrite: those inputs get `to` rows; in every `shape` attribute (reshape, broadcast_to,
/// constant, random_normal, …) a leading entry that is a multiple k·`from` becomes k·`to`
/// (so a [batch·time, features] reshape follows); a slice over the whole batch
/// (`begin[0] = 0`, `end[0] = from`) ends at `to`. Types are then inferred again and every
/// value is checked: its trailing dimensions must be unchanged and its leading dimension
/// unchanged or scaled by `to`/`from`. A graph that hides its batch elsewhere (a literal
/// 1/batch factor, a batch folded into a later axis) is refused with the value that broke,
/// never silently mis-specialised.
public struct BatchSpecialization {
    public let from: Int
    public let to: Int

    public init(from: Int, to: Int) {
        self.from = from
        self.to = to
    }

    public func run(_ graph: Graph) throws -> Graph {
        guard from > 0, to > 0 else { throw Diagnostic("batch sizes must be positive (from \(from) to \(to))") }
        let original = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        if from == to { return original }
        var result = original
        result.memoryPlan = nil
        for i in result.inputs.indices where result.inputs[i].type.shape.dims.first == from {
            var dims = result.inputs[i].type.shape.dims
            dims[0] = to
            result.inputs[i].type = TensorType(result.inputs[i].type.dtype, Shape(dims))
        }
        for i in result.nodes.indices {
            var attributes = result.nodes[i].attributes
            if case .ints(var shape)? = attributes["shape"], let lead = shape.first, lead > 0, lead % from == 0 {
                shape[0] = lead / from * to
                attributes["shape"] = .ints(shape)
            }
            if result.nodes[i].op == .slice, case .ints(let begin)? = attributes["begin"], case .ints(var end)? = attributes["end"],
               begin.first == 0, end.first == from {
                end[0] = to
                attributes["end"] = .ints(end)
            }
            result.nodes[i].attributes = attributes
            result.nodes[i].type = nil
        }
        let specialised: Graph
        do { specialised = try inferTypes(result) } catch let d as Diagnostic {
            throw Diagnostic("cannot re-specialise graph '\(graph.name)' from batch \(from) to \(to): \(d.message)", at: d.location)
        }
        let before = original.valueTypes, after = specialised.valueTypes
        for (name, old) in before.sorted(by: { $0.key < $1.key }) {
            guard let new = after[name] else { continue }
            let o = old.shape.dims, n = new.shape.dims
            let scaled = o.first.map { $0 % from == 0 && $0 / from * to == n.first } ?? false
            guard o.count == n.count, Array(o.dropFirst()) == Array(n.dropFirst()), o.first == n.first || scaled else {
                throw Diagnostic("cannot re-specialise graph '\(graph.name)' from batch \(from) to \(to): '\(name)' would change from \(old) to \(new), which is not a change of batch; rebuild the graph with batch \(to)")
            }
        }
        return specialised
    }
}
