import KilnIR

/// A Keras-style summary of a forward graph, plus what only the compiler knows: per layer its
/// output shape, params (trainable, frozen, state) and floating-point operations per example,
/// then the memory the planned inference and training steps need.
///
/// Layers are read off the graph: a row starts at every contraction (matmul, convolution,
/// pooling) and every layout op (reshape, transpose, …); elementwise ops and reductions join
/// the row before them (a bias, an activation, batch norm). A row is named by its params'
/// layer prefixes (`conv1.weight` → `conv1`) or else by its ops. The table is made from the
/// inference graph (`InferenceGraph`: no loss, batch norm as it predicts, a classifier's
/// softmax), or the evaluation graph when nothing but a loss is output.
///
/// Operations: 2·m·n·k per matrix product, 2·(output elements)·(input channels)·kh·kw per
/// convolution, one per window element for pooling, one per output element for elementwise
/// ops and one per input element for reductions and softmax; layout ops count none.
public struct GraphSummary: Sendable {
    public struct Row: Sendable, Equatable {
        public var layer: String
        public var ops: [String]
        public var outputShape: TensorType?
        public var trainable = 0, frozen = 0, state = 0
        /// Floating-point operations per example.
        public var flops = 0
    }

    public var graphName: String
    public var batch: Int
    public var rows: [Row]
    /// Bytes of the planned arena of the evaluation step (`MemoryPlanner`), params excluded.
    public var inferenceArena: Int
    /// Bytes of the planned training step's arena, when the graph has a loss and an optimiser was given.
    public var trainingArena: Int?
    /// Bytes of params and state (and, for the training step, optimiser state).
    public var parameterBytes: Int
    public var trainingStateBytes: Int?

    public var trainable: Int { rows.reduce(0) { $0 + $1.trainable } }
    public var frozen: Int { rows.reduce(0) { $0 + $1.frozen } }
    public var state: Int { rows.reduce(0) { $0 + $1.state } }
    public var flops: Int { rows.reduce(0) { $0 + $1.flops } }

    /// Summarises `graph`; `frozen` params count as frozen; with `optimizer` and a loss
    /// (declared `as loss`, or named `loss`) the training step is planned too.
    public init(_ graph: Graph, frozen: Set<String> = [], optimizer: Optimizer? = nil) throws {
        let typed = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        // What predicting runs (no loss, a classifier's softmax), else the evaluation graph.
        let inference = try? InferenceGraph().run(typed)
        let evaluation = try inference ?? EvaluationMode().run(typed)
        graphName = typed.name
        batch = Swift.max(typed.inputs.first?.type.shape.dims.first ?? 1, 1)
        let params = Dictionary(typed.params.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var rows: [Row] = [], counted = Set<String>()
        for node in evaluation.nodes {
            let starts: Bool
            switch node.op.category {
            case .contraction, .layout, .loss: starts = true
            case .elementwise, .reduction, .source, .gradientHelper, .kernel: starts = rows.isEmpty
            }
            if starts { rows.append(Row(layer: "", ops: [])) }
            let index = rows.count - 1
            rows[index].ops.append(node.op.rawValue)
            rows[index].outputShape = node.type
            rows[index].flops += Self.flops(node, in: evaluation) / batch
            for operand in node.operands where !counted.contains(operand) {
                guard let param = params[operand] else { continue }
                counted.insert(operand)
                let count = param.type.elementCount
                if param.role == .state { rows[index].state += count } else if frozen.contains(operand) { rows[index].frozen += count } else { rows[index].trainable += count }
                if let dot = operand.lastIndex(of: ".") {
                    let prefix = String(operand[..<dot])
                    if !rows[index].layer.split(separator: "+").map({ $0.trimmingCharacters(in: .whitespaces) }).contains(prefix) {
                        rows[index].layer += rows[index].layer.isEmpty ? prefix : " + " + prefix
                    }
                }
            }
        }
        // Rows without layer-named params are named by their ops.
        self.rows = rows.map { row in
            var named = row
            if named.layer.isEmpty { named.layer = Self.describe(row.ops) }
            return named
        }
        parameterBytes = typed.params.reduce(0) { $0 + $1.type.byteCount }
        var inferencePipeline = PassManager(OptimizingPipeline.passes)
        inferenceArena = try inferencePipeline.run(evaluation).memoryPlan?.arenaSize ?? 0
        let losses = typed.outputs(withRole: .loss)
        let loss = losses.first ?? (typed.outputs.contains("loss") ? "loss" : nil)
        if let optimizer, let loss {
            let trained = typed.trainableParams.map(\.name).filter { !frozen.contains($0) }
            var pipeline = PassManager([TrainingStep(loss: loss, optimizer: optimizer, params: frozen.isEmpty ? nil : trained)]
                                       + OptimizingPipeline.passes)
            let step = try pipeline.run(typed)
            trainingArena = step.memoryPlan?.arenaSize ?? 0
            trainingStateBytes = step.params.reduce(0) { $0 + $1.type.byteCount }
        }
    }

    /// "conv2d → add → relu" for up to three ops, else the first two and a count.
    static func describe(_ ops: [String]) -> String {
        ops.count <= 3 ? ops.joined(separator: " → ") : "\(ops[0]) → \(ops[1]) → … (\(ops.count) ops)"
    }

    /// Floating-point operations of one node for the whole batch, read from the op table: one
    /// per result element for an elementwise op, one per input element for a reduction or a
    /// loss, none for layout, sources, gradient helpers and kernels; contractions by formula.
    static func flops(_ node: Node, in graph: Graph) -> Int {
        let types = node.operands.map { graph.valueTypes[$0] }
        let output = node.type?.elementCount ?? 0
        switch node.op.category {
        case .elementwise: return output
        case .reduction, .loss: return types.first??.elementCount ?? 0
        case .source, .layout, .gradientHelper, .kernel: return 0
        case .contraction:
            // Every contraction is in the set (OpTableSetsTests); nothing else reaches here.
            guard let contraction = node.op.contraction else { return 0 }
            switch contraction {
            case .matmul:
                guard types.count == 2, let a = types[0], let b = types[1] else { return 0 }
                let g = MatmulGeometry(a: a.shape, b: b.shape, transposeA: node.attributes["transpose_a"] == .bool(true),
                                       transposeB: node.attributes["transpose_b"] == .bool(true))
                return 2 * g.m * g.n * g.k * Swift.max(g.batchCount, 1)
            case .conv2d:
                guard types.count == 2, let filter = types[1], filter.rank == 4 else { return 0 }
                return 2 * output * filter.shape[1] * filter.shape[2] * filter.shape[3]
            case .max_pool2d, .avg_pool2d:
                if case .ints(let window)? = node.attributes["window"] { return output * window.reduce(1, *) }
                return output
            }
        }
    }

    /// The table, Keras-style, then the totals and the planned memory.
    public var text: String {
        func count(_ n: Int) -> String {
            var digits = String(n), out = ""
            while digits.count > 3 { out = "," + digits.suffix(3) + out; digits = String(digits.dropLast(3)) }
            return digits + out
        }
        let header = ["layer", "output shape", "trainable", "frozen", "state", "FLOPs/example"]
        var table = [header]
        for row in rows {
            table.append([row.layer, row.outputShape?.description ?? "?", count(row.trainable), count(row.frozen), count(row.state), count(row.flops)])
        }
        table.append(["total", "", count(trainable), count(frozen), count(state), count(flops)])
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        var lines = ["graph \(graphName) (batch \(batch))"]
        for (i, cells) in table.enumerated() {
            if i == 1 || i == table.count - 1 { lines.append(widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ")) }
            lines.append(cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column < 2 ? cell + pad : pad + cell
            }.joined(separator: "  ").trimmingTrailingSpaces())
        }
        lines.append("params and state: \(formatBytes(parameterBytes)); planned inference step: arena \(formatBytes(inferenceArena)) at batch \(batch)")
        if let trainingArena, let trainingStateBytes {
            lines.append("planned training step: arena \(formatBytes(trainingArena)), params and optimiser state \(formatBytes(trainingStateBytes))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
