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
            b.tileEpilogue = TileEpilogue(body: FusedBody(nodes: epilogue, shape: targetType.shape, types: types, buffers: buffers), stores: stores)
            var kernels = try Lowering.lowerPlain(&b, first, types: types, into: target)
            if b.tileEpilogue == nil { return kernels }
            b.tileEpilogue = nil
            let body = ElementwiseLowering.lower(&b, shape: targetType.shape, body: epilogue, operands: operands,
                                                 results: results.filter { $0 != first.name }, types: types)
            kernels.append(b.kernel(body, work: targetType.shape.elementCount, suffix: "_epilogue"))
            return kernels
        }

        if last.op == .reduce_sum || last.op == .reduce_mean || last.op == .reduce_max {
            let producers = Array(region.dropLast())
            try requireElementwise(producers, node)
            guard let reduced = last.operands.first, let input = types[reduced], let lastType = last.type else {
                throw Diagnostic("internal: fused reduction '\(node.name)' has no input", at: node.location)
            }
            let operands = Lowering.unique(region.flatMap(\.operands).filter { !defined.contains($0) })
            var buffers: [String: Int] = [:]
            for operand in operands where b.constants[operand] == nil { buffers[operand] = b.buffer(operand, b.type(of: operand, in: types)) }
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

        try requireElementwise(region, node)
        let operands = Lowering.unique(region.flatMap(\.operands).filter { !defined.contains($0) })
        let body = ElementwiseLowering.lower(&b, shape: type.shape, body: region, operands: operands, results: results, types: types)
        return [b.kernel(body, work: ElementwiseCost.work(region, elements: type.shape.elementCount, types: types))]
    }

    private static func requireElementwise(_ nodes: [Node], _ kernel: Node) throws {
        for node in nodes where node.op.fusionRole != .elementwise && node.op.fusionRole != .indexMap {
            throw Diagnostic("internal: fused kernel '\(kernel.name)' holds '\(node.op.name)', which the code generator cannot fuse", at: kernel.location)
        }
    }
}
