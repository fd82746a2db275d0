import KilnIR

/// Fused kernels, in the three shapes fusion forms (Docs/PASSES.md):
/// - elementwise bodies: one loop, every body value in registers;
/// - a contraction (matmul, conv2d) and its elementwise epilogue: the GEMM writes into a result
///   buffer, the epilogue rewrites it in place;
/// - elementwise producers feeding a reduction: the producers are computed inside the
///   reduction's loops, never stored (unless they are also results).
enum FusedLowering {
    static func lower(_ b: inout KernelBuilder, _ node: Node, _ region: [Node], types outer: [String: TensorType]) throws -> [LoopKernel] {
        guard let last = region.last, let type = node.type else {
            throw Diagnostic("internal: fused kernel '\(node.name)' is empty", at: node.location)
        }
        // Only the kernel's own values: copying the graph's whole table per kernel would make
        // lowering quadratic in the graph.
        var types: [String: TensorType] = [:]
        for inner in region {
            for operand in inner.operands where types[operand] == nil { types[operand] = outer[operand] }
            if let t = inner.type { types[inner.name] = t }
        }
        let results = node.resultNames
        let defined = Set(region.map(\.name))

        if let contraction = region.first(where: { $0.op.fusionRole == .contraction }) {
            // Elementwise producers that do not feed the GEMM run in its epilogue loop.
            let first = contraction
            let epilogue = region.filter { $0.name != contraction.name }
            try requireElementwise(epilogue, node)
            if contraction.operands.contains(where: defined.contains) {
                throw Diagnostic("internal: fused kernel '\(node.name)' computes an operand of its contraction", at: node.location)
            }
            let target = results.contains(first.name) ? first.name : results[0]
            guard let targetType = types[target] else {
                throw Diagnostic("internal: fused kernel '\(node.name)' has untyped values", at: node.location)
            }
            if epilogue.isEmpty { return try Lowering.lowerPlain(&b, first, types: types, into: target) }
            b.alias(first.name, to: target, targetType)
            let operands = Lowering.unique(epilogue.flatMap(\.operands).filter { !Set(epilogue.map(\.name)).contains($0) })
            // Offered to the contraction's register tiles; a lowering that cannot take it leaves it.
            var buffers: [String: Int] = [:]
            for operand in operands where b.constants[operand] == nil {
                guard let t = types[operand] else { throw Diagnostic("internal: fused kernel '\(node.name)' reads untyped '\(operand)'", at: node.location) }
                buffers[operand] = b.buffer(operand, t)
            }
            var stores: [(name: String, buffer: Int)] = []
            for result in results where result != first.name {
                guard let t = types[result] else { throw Diagnostic("internal: fused kernel '\(node.name)' has untyped result '\(result)'", at: node.location) }
                stores.append((result, b.buffer(result, t)))
            }
            b.tileEpilogue = TileEpilogue(body: FusedBody(nodes: epilogue, shape: targetType.shape, types: types, buffers: buffers), stores: stores,
                                          product: results.contains(first.name) ? nil : first.name)
            b.productKeptOut = false
            var kernels = try Lowering.lowerPlain(&b, first, types: types, into: target)
            // Unless the lowering kept the product out of it, the target holds the product
            // before the epilogue has read its operands.
            let staged = b.productKeptOut ? nil : b.buffer(target, targetType)
            defer { b.productKeptOut = false }
            if b.tileEpilogue == nil { return kernels.map { $0.staging(staged) } }
            b.tileEpilogue = nil
            let body = ElementwiseLowering.lower(&b, shape: targetType.shape, body: epilogue, operands: operands,
                                                 results: results.filter { $0 != first.name }, types: types)
            kernels.append(b.kernel(body, work: targetType.shape.elementCount, suffix: "_epilogue"))
            return kernels.map { $0.staging(staged) }
        }

        if last.op == .reduce_sum || last.op == .reduce_mean || last.op == .reduce_max {
            let producers = Array(region.dropLast())
            try requireElementwise(producers, node)
            guard let reduced = last.operands.first, let input = types[reduced], let lastType = last.type else {
                throw Diagnostic("internal: fused reduction '\(node.name)' has no input", at: node.location)
            }
            let operands = Lowering.unique(region.flatMap(\.operands).filter { !defined.contains($0) })
            let buffers = FusedBody.buffers(&b, for: operands, body: producers, types: types)
            let out = b.buffer(last.name, lastType)
            let stored = producers.filter { results.contains($0.name) }.map { ($0.name, b.buffer($0.name, b.type(of: $0.name, in: types))) }
            let axes = try normalizedAxes(last.attributes.ints("axes"), input)
            let fused = FusedBody(nodes: producers, shape: input.shape, types: types, buffers: buffers)
            let body = ReductionLowering.reduce(&b, last.op, input: input.shape, dtype: input.dtype, axes: axes, out: out) { b, index, flat in
                var (stmts, values) = fused.evaluate(&b, index: index, flat: flat)
                for (name, buffer) in stored {
                    stmts.append(.store(buffer: buffer, index: flat, value: b.defined(name, in: values, placeholder: .f32(0), "the store of a result")))
                }
                if values[reduced] == nil, let c = b.constants[reduced] {
                    values[reduced] = c
                } else if values[reduced] == nil, let buffer = buffers[reduced] {
                    let v = b.fresh()
                    stmts.append(.bind(v, .load(buffer: buffer, index: flat)))
                    values[reduced] = .value(v)
                }
                return (stmts, b.defined(reduced, in: values, placeholder: .f32(0), "the reduction '\(last.name)'"))
            }
            return [b.kernel(body, work: input.shape.elementCount * Swift.max(region.count, 1))]
        }

        if last.op == .concat {
            return [try concatenation(&b, node, region, types: types, results: results)]
        }

        try requireElementwise(region, node)
        let operands = Lowering.unique(region.flatMap(\.operands).filter { !defined.contains($0) })
        let body = ElementwiseLowering.lower(&b, shape: type.shape, body: region, operands: operands, results: results, types: types)
        return [b.kernel(body, work: ElementwiseCost.work(region, elements: type.shape.elementCount, types: types))]
    }

    /// A concat and the elementwise producers of its operands: one loop nest per operand over
    /// that operand's shape, evaluating the operand's producers and storing it straight into its
    /// block of the result (and any producer also needed outside at its own index).
    private static func concatenation(_ b: inout KernelBuilder, _ node: Node, _ region: [Node], types: [String: TensorType],
                                      results: [String]) throws -> LoopKernel {
        guard let concat = region.last, let outType = concat.type else {
            throw Diagnostic("internal: fused concat '\(node.name)' is empty", at: node.location)
        }
        let producers = Array(region.dropLast())
        try requireElementwise(producers, node)
        // Each producer belongs to the operand its consumers in the kernel compute (fusion put it there).
        var piece: [String: Int] = [:]
        for (k, operand) in concat.operands.enumerated() where producers.contains(where: { $0.name == operand }) { piece[operand] = k }
        for producer in producers.reversed() where piece[producer.name] == nil {
            guard let k = producers.first(where: { $0.operands.contains(producer.name) && piece[$0.name] != nil }).flatMap({ piece[$0.name] }) else {
                throw Diagnostic("internal: fused concat '\(node.name)' holds '\(producer.name)', which computes none of its operands", at: node.location)
            }
            piece[producer.name] = k
        }
        let axis = try normalizedAxis(concat.attributes.int("axis"), rank: outType.rank, outType)
        let out = b.buffer(concat.name, outType)
        let outStrides = outType.shape.strides
        let defined = Set(region.map(\.name))
        // Concatenated along an inner axis, every operand shares the rows before it: one loop
        // over those rows (the one threads split), the operands' blocks inside it.
        let rows = outType.shape.dims[..<axis].reduce(1, *)
        var pieces: [(inout KernelBuilder, Expr) -> [Stmt]] = []
        var start = 0
        for (k, operand) in concat.operands.enumerated() {
            guard let type = types[operand] else { throw Diagnostic("internal: fused concat '\(node.name)' reads untyped '\(operand)'", at: node.location) }
            let offset = start
            start += type.shape[axis]
            let body = producers.filter { piece[$0.name] == k }
            let reads = Lowering.unique(body.flatMap(\.operands) + [operand]).filter { !defined.contains($0) }
            let buffers = FusedBody.buffers(&b, for: reads, body: body, types: types)
            let stored = body.filter { results.contains($0.name) }.map { ($0.name, b.buffer($0.name, b.type(of: $0.name, in: types))) }
            let fused = FusedBody(nodes: body, shape: type.shape, types: types, buffers: buffers)
            let dims = type.shape.dims, inner = dims[axis...].reduce(1, *)
            pieces.append { b, row in
                b.loop(inner, .dataParallel) { b, t in
                    // The multi-index of element (row, t) of this operand.
                    var index: [Expr] = []
                    var rest = row
                    for a in stride(from: axis - 1, through: 0, by: -1) {
                        index.insert(a == 0 ? rest : rest.rem(dims[a]), at: 0)
                        rest = rest.div(dims[a])
                    }
                    var tail: [Expr] = [], remaining = t
                    for a in stride(from: dims.count - 1, through: axis, by: -1) {
                        tail.insert(a == axis ? remaining : remaining.rem(dims[a]), at: 0)
                        remaining = remaining.div(dims[a])
                    }
                    index += tail
                    let flat = row.mul(inner).plus(t)
                    var (stmts, values) = fused.evaluate(&b, index: index, flat: flat)
                    var target = index
                    target[axis] = target[axis].plus(offset)
                    let value = values[operand] ?? b.constants[operand]
                        ?? .load(buffer: b.defined(operand, in: buffers, placeholder: 0, "the concat's operand"), index: flat)
                    stmts.append(.store(buffer: out, index: .linear(target, outStrides), value: value))
                    for (name, buffer) in stored {
                        stmts.append(.store(buffer: buffer, index: flat, value: b.defined(name, in: values, placeholder: .f32(0), "the store of a result")))
                    }
                    return stmts
                }
            }
        }
        let stmts = b.loop(rows, rows > 1 ? .dataParallel : .ordered) { b, row in pieces.flatMap { $0(&b, row) } }
        let work = producers.reduce(0) { $0 + ElementwiseCost.work([$1], elements: types[$1.name]?.shape.elementCount ?? 0, types: types) }
        return b.kernel(stmts, work: work + outType.shape.elementCount)
    }

    private static func requireElementwise(_ nodes: [Node], _ kernel: Node) throws {
        for node in nodes where node.op.fusionRole != .elementwise && node.op.fusionRole != .indexMap {
            throw Diagnostic("internal: fused kernel '\(kernel.name)' holds '\(node.op.name)', which the code generator cannot fuse", at: kernel.location)
        }
    }
}
