import Foundation
import KilnIR

/// ONNX's control flow on Kiln's static graphs: `If` with a condition known at import inlines
/// its branch; `Scan` (opset 9+) is unrolled over its static sequence length, the body's values
/// renamed per step. Kiln graphs have no control flow, so a run-time condition is refused.
extension ONNXImporter {
    /// `If` with a condition known at import time: the chosen branch's nodes are converted in
    /// place (they read the enclosing graph's values by name) and its outputs become the If's.
    /// A run-time condition is refused: Kiln graphs have no control flow.
    static func inlineIf(_ node: Onnx_NodeProto, label: String, _ ctx: ImportContext, source: String,
                                 located: (String) -> ONNXError) throws {
        guard let name = node.input.first, !name.isEmpty, let v = ctx.values[name] else { throw located("cond (input 0) is missing") }
        guard let cond = v.constant, cond.count == 1 else {
            throw located("cond (input '\(name)') must be known at import time (Kiln graphs have no control flow)")
        }
        let key = cond.values[0] != 0 ? "then_branch" : "else_branch"
        guard let branch = node.attribute.first(where: { $0.name == key && $0.hasG })?.g else { throw located("the \(key) graph is missing") }
        guard branch.output.count == node.output.count else {
            throw located("the \(key) graph has \(branch.output.count) outputs for the node's \(node.output.count)")
        }
        // Initializers of the branch are its constants.
        for t in branch.initializer {
            let c = try ConstantTensor(proto: t, what: "initializer '\(t.name)' of the \(key)")
            ctx.values[t.name] = ImportedValue(type: c.type, kilnName: nil, constant: c, onnxType: t.dataType)
        }
        ctx.consumed.formUnion(branch.node.flatMap(\.input) + branch.output.map(\.name))
        for (index, inner) in branch.node.enumerated() {
            var named = inner
            if named.name.isEmpty { named.name = "\(label.trimmingCharacters(in: CharacterSet(charactersIn: "'")))/\(key)#\(index)" }
            try convertNode(named, index: index, ctx, source: source)
        }
        for (output, inner) in zip(node.output, branch.output) where !output.isEmpty {
            guard let value = ctx.values[inner.name] else { throw located("the \(key) output '\(inner.name)' is never computed") }
            guard ctx.values[output] == nil else { throw located("output '\(output)' is already defined") }
            ctx.values[output] = value
        }
    }

    /// Steps are unrolled into the graph: longer scans are refused rather than made huge.
    static let maximumScanSteps = 4096

    /// `Scan`: per step, the scan inputs' slices and the current states feed a copy of the body
    /// (every value it defines renamed `scan…/t/…`); its first outputs are the next states, the
    /// rest are stacked along each scan output's axis.
    static func unrollScan(_ node: Onnx_NodeProto, label: String, _ ctx: ImportContext, source: String,
                           located: (String) -> ONNXError) throws {
        guard ctx.opset >= 9 else { throw located("Scan before opset 9 (batch axis, sequence_lens) is not supported") }
        let a = NodeAttributes(node)
        guard let body = node.attribute.first(where: { $0.name == "body" && $0.hasG })?.g else { throw located("the body graph is missing") }
        guard !body.node.contains(where: { $0.attribute.contains { $0.hasG || !$0.graphs.isEmpty } }) else {
            throw located("a Scan body with nested subgraphs is not supported")
        }
        let scans: Int
        do { scans = try a.int("num_scan_inputs", -1) } catch let e as ConversionError { throw located(e.message) }
        let states = node.input.count - scans
        guard scans >= 1, states >= 0, body.input.count == node.input.count, body.output.count >= states,
              node.output.count <= body.output.count else {
            throw located("num_scan_inputs \(scans) does not fit \(node.input.count) inputs and a body of \(body.input.count) inputs, \(body.output.count) outputs")
        }
        let scanOutputs = body.output.count - states
        func list(_ name: String, _ count: Int) throws -> [Int] {
            let v: [Int]
            do { v = try a.ints(name) ?? Array(repeating: 0, count: count) } catch let e as ConversionError { throw located(e.message) }
            guard v.count == count else { throw located("\(name) needs \(count) entries, has \(v.count)") }
            return v
        }
        let inputAxes = try list("scan_input_axes", scans), inputDirections = try list("scan_input_directions", scans)
        let outputAxes = try list("scan_output_axes", scanOutputs), outputDirections = try list("scan_output_directions", scanOutputs)
        var steps = -1
        var scanValues: [(name: String, dims: [Int], axis: Int)] = []
        for j in 0..<scans {
            let name = node.input[states + j]
            guard let v = ctx.values[name] else { throw located("scan input '\(name)' is not defined") }
            let dims = v.type.shape.dims
            let raw = inputAxes[j], axis = raw < 0 ? raw + dims.count : raw
            guard axis >= 0, axis < dims.count else { throw located("scan_input_axes \(raw) is out of range for '\(name)' of rank \(dims.count)") }
            guard steps < 0 || dims[axis] == steps else { throw located("scan inputs have different lengths (\(steps) and \(dims[axis]))") }
            steps = dims[axis]
            scanValues.append((name, dims, axis))
        }
        guard steps >= 1, steps <= maximumScanSteps else { throw located("a scan of \(steps) steps is not supported (1 to \(maximumScanSteps): it is unrolled)") }
        let base = label.trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        // Names the body defines (its inputs, initializers, node outputs) are renamed per step.
        let local = Set(body.input.map(\.name) + body.initializer.map(\.name) + body.node.flatMap(\.output))
        var current: [ImportedValue] = []
        for i in 0..<states {
            guard let v = ctx.values[node.input[i]] else { throw located("state input '\(node.input[i])' is not defined") }
            current.append(v)
        }
        var pieces: [[String]] = Array(repeating: [], count: scanOutputs)
        do {
            for t in 0..<steps {
                let prefix = "scan:\(base)/\(t)/"
                func renamed(_ name: String) -> String { name.isEmpty || !local.contains(name) ? name : prefix + name }
                for (i, v) in current.enumerated() { ctx.values[prefix + body.input[i].name] = v }
                ctx.begin(node)
                for (j, s) in scanValues.enumerated() {
                    let at = inputDirections[j] != 0 ? steps - 1 - t : t
                    var begin = Array(repeating: 0, count: s.dims.count), end = s.dims
                    begin[s.axis] = at; end[s.axis] = at + 1
                    var kept = s.dims
                    kept.remove(at: s.axis)
                    let sliced = try ctx.emit(.slice, [try operandValue(ctx, s.name)], [("begin", .ints(begin)), ("end", .ints(end))])
                    let value = try ctx.emit(.reshape, [sliced], [("shape", .ints(kept))])
                    ctx.values[prefix + body.input[states + j].name] = ImportedValue(type: try ctx.kilnType(value), kilnName: value)
                }
                for tensor in body.initializer {
                    let c = try ConstantTensor(proto: tensor, what: "initializer '\(tensor.name)' of the Scan body")
                    ctx.values[prefix + tensor.name] = ImportedValue(type: c.type, kilnName: nil, constant: c, onnxType: tensor.dataType)
                }
                ctx.consumed.formUnion(body.node.flatMap(\.input).map(renamed) + body.output.map { renamed($0.name) })
                for (index, inner) in body.node.enumerated() {
                    var copy = inner
                    copy.input = inner.input.map(renamed)
                    copy.output = inner.output.map(renamed)
                    copy.name = "\(base)/step \(t)/" + (inner.name.isEmpty ? "#\(index)" : inner.name)
                    try convertNode(copy, index: index, ctx, source: source)
                }
                var outputs: [ImportedValue] = []
                for out in body.output {
                    guard let v = ctx.values[renamed(out.name)] else { throw ConversionError("the body output '\(out.name)' is never computed") }
                    outputs.append(v)
                }
                current = Array(outputs[..<states])
                ctx.begin(node)
                for k in 0..<scanOutputs {
                    let name = prefix + "out\(k)"
                    ctx.values[name] = outputs[states + k]
                    pieces[k].append(try operandValue(ctx, name))
                }
            }
            ctx.begin(node)
            for (i, v) in current.enumerated() where i < node.output.count && !node.output[i].isEmpty { ctx.values[node.output[i]] = v }
            for k in 0..<scanOutputs where states + k < node.output.count && !node.output[states + k].isEmpty {
                let parts = outputDirections[k] != 0 ? Array(pieces[k].reversed()) : pieces[k]
                let dims = try ctx.dims(parts[0])
                let raw = outputAxes[k], axis = raw < 0 ? raw + dims.count + 1 : raw
                guard axis >= 0, axis <= dims.count else { throw ConversionError("scan_output_axes \(raw) is out of range for rank \(dims.count + 1)") }
                var one = dims
                one.insert(1, at: axis)
                let stacked = try parts.map { try ctx.emit(.reshape, [$0], [("shape", .ints(one))]) }
                let y = stacked.count == 1 ? stacked[0] : try ctx.emit(.concat, stacked, [("axis", .int(axis))])
                ctx.values[node.output[states + k]] = ImportedValue(type: try ctx.kilnType(y), kilnName: y)
            }
        } catch let error as ConversionError {
            throw located(error.message)
        } catch let error as Diagnostic {
            throw located(error.message)
        } catch let error as TypeError {
            throw located(error.message)
        }
    }

    /// The Kiln value of an ONNX value, created from its data when only known at import.
    private static func operandValue(_ ctx: ImportContext, _ name: String) throws -> String {
        guard let v = ctx.values[name] else { throw ConversionError("'\(name)' is not defined") }
        if let kiln = v.kilnName { return kiln }
        return try ctx.materialize(name, role: nil)
    }
}
