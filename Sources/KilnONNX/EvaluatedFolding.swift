import KilnIR
import KilnTensor

/// Folds any node whose inputs are all known at import time by converting it on its own into a
/// small Kiln graph and running that graph on the importer's `ConstantEvaluator` (the
/// interpreter, given by the caller: KilnONNX does not link a backend). `ConstantFolder` handles the
/// shape arithmetic exporters emit exactly (in doubles, int64 ranges kept); this covers every
/// other op Kiln imports — a `Transpose` of constant pads, a `Softmax` of a constant table, a
/// `MatMul` of two `Constant`s — so shape computations of any form become constants.
///
/// Float initializers are never inputs here (they stay trainable params), and the results count
/// against `ConstantFolder.budget` like every folded constant. A node whose conversion or
/// evaluation fails is not folded: the ordinary conversion then runs and reports the problem.
enum EvaluatedFolding {
    /// Folds the current node by evaluation when every given input is a known, non-trainable
    /// value; returns whether it did.
    static func fold(_ ctx: ImportContext, convert: (ImportContext) throws -> Void) throws -> Bool {
        let node = ctx.node
        var known: [String: ConstantTensor] = [:]
        var inputElements = 0
        for i in 0..<ctx.inputCount where ctx.hasInput(i) {
            let v = try ctx.value(i)
            guard let c = v.constant, !(v.isInitializer && c.dtype == .f32), c.count > 0 else { return false }
            known[node.input[i]] = c
            inputElements += c.count
        }
        // A node without inputs (none is imported today) has nothing to fold from.
        guard !known.isEmpty, inputElements <= ConstantFolder.budget else { return false }

        let scratch = ImportContext(graphName: "fold", opset: ctx.opset, evaluator: ctx.evaluator)
        for (name, c) in known { scratch.values[name] = ImportedValue(type: c.type, kilnName: nil, constant: c, onnxType: ctx.values[name]?.onnxType) }
        scratch.consumed = Set(node.output.filter { !$0.isEmpty })
        scratch.begin(node)
        var results: [Int: ConstantTensor] = [:]
        var evaluated: [(index: Int, kiln: String)] = []
        do {
            try convert(scratch)
            for (i, output) in node.output.enumerated() where !output.isEmpty {
                guard let v = scratch.values[output] else { continue }
                if let c = v.constant { results[i] = c; continue }
                guard let kiln = v.kilnName else { return false }
                if let data = scratch.tensors[kiln] { results[i] = ConstantTensor(data); continue }
                evaluated.append((i, kiln))
            }
            // Bounded before anything runs: the outputs' types are known from the conversion.
            let outputElements = try evaluated.reduce(0) { total, e in
                let t = try scratch.kilnType(e.kiln)
                return total + t.elementCount
            } + results.values.reduce(0) { $0 + $1.count }
            guard outputElements <= ConstantFolder.budget - ctx.foldedElements else { return false }
            if !evaluated.isEmpty {
                for e in evaluated where !scratch.builder.isOutput(e.kiln) { try scratch.builder.addOutput(e.kiln) }
                let outputs = try ctx.evaluator.evaluate(scratch.builder.graph, state: scratch.tensors)
                for e in evaluated {
                    guard let t = outputs[e.kiln] else { return false }
                    results[e.index] = ConstantTensor(t)
                }
            }
        } catch {
            return false
        }
        for (i, c) in results.sorted(by: { $0.key < $1.key }) {
            ctx.foldedElements += c.count
            ctx.define(i, constant: c)
        }
        return true
    }
}

extension ConstantTensor {
    /// The value of a Kiln tensor (an evaluated result or import-time state data).
    init(_ t: Tensor) {
        let values: [Double] = t.dtype == .i32 ? t.ints.map(Double.init) : t.floats.map(Double.init)
        self.init(shape: t.shape.dims, values: values, isInteger: t.dtype == .i32)
    }
}
