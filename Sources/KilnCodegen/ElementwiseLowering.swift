import KilnIR

/// Elementwise ops and fused elementwise kernels: one pass over the (coalesced) iteration
/// space, broadcasting resolved at compile time into per-operand strides, every body value
/// computed once per element and kept in registers.
enum ElementwiseLowering {
    /// A loop over `shape` computing `body` (elementwise nodes in order) from `operands`
    /// (values defined outside), storing `results`.
    static func lower(_ b: inout KernelBuilder, shape: Shape, body: [Node], operands: [String],
                      results: [String], types: [String: TensorType]) -> [Stmt] {
        if body.contains(where: { $0.op.fusionRole == .indexMap }) {
            return lowerIndexed(&b, shape: shape, body: body, operands: operands, results: results, types: types)
        }
        let folded = operands.filter { b.constants[$0] != nil }
        let operands = operands.filter { b.constants[$0] == nil }
        let operandTypes = operands.map { b.type(of: $0, in: types) }
        let operandBuffers = zip(operands, operandTypes).map { b.buffer($0.0, $0.1) }
        let resultBuffers = results.map { b.buffer($0, b.type(of: $0, in: types)) }
        let (dims, strides) = coalesce(shape, operandTypes.map(\.shape))
        let rowLength = dims.last ?? 1
        let rows = dims.dropLast().reduce(1, *)
        let bodyTypes = body.map { ScalarType(b.type(of: $0).dtype) }
        return b.loop(rows, rows > 1 ? .dataParallel : .ordered) { b, row in
            // Row offsets per operand, decomposed over the outer coalesced dims.
            var rowOffsets: [Expr] = []
            var hoisted: [Stmt] = []
            var values: [String: Expr] = [:]
            for name in folded { values[name] = b.constants[name] }
            for j in operands.indices {
                var offset = Expr.i64(0), rest = row
                for axis in stride(from: dims.count - 2, through: 0, by: -1) {
                    offset = offset.plus((axis == 0 ? rest : rest.rem(dims[axis])).mul(strides[j][axis]))
                    rest = rest.div(dims[axis])
                }
                rowOffsets.append(offset)
                if strides[j].last == 0 {
                    let v = b.fresh()
                    hoisted.append(.bind(v, .load(buffer: operandBuffers[j], index: offset)))
                    values[operands[j]] = .value(v)
                }
            }
            let inner = b.loop(rowLength, .dataParallel) { b, i in
                var stmts: [Stmt] = []
                var local = values
                for j in operands.indices where local[operands[j]] == nil {
                    let v = b.fresh()
                    stmts.append(.bind(v, .load(buffer: operandBuffers[j], index: rowOffsets[j].plus(i.mul(strides[j].last ?? 1)))))
                    local[operands[j]] = .value(v)
                }
                let flat = row.mul(rowLength).plus(i)
                var operandType = Dictionary(zip(operands, operandTypes.map { ScalarType($0.dtype) }), uniquingKeysWith: { a, _ in a })
                for name in folded { operandType[name] = ScalarType(b.type(of: name, in: types).dtype) }
                var scalarTypes = operandType
                for (node, type) in zip(body, bodyTypes) {
                    let x = node.operands.map { b.defined($0, in: local, placeholder: .f32(0), "'\(node.name)'") }
                    let t = node.operands.map { b.defined($0, in: scalarTypes, placeholder: .f32, "'\(node.name)'") }
                    let v = b.fresh()
                    stmts.append(.bind(v, b.scalarValue(of: node, x, types: t, at: .init(flatIndex: flat))))
                    local[node.name] = .value(v)
                    scalarTypes[node.name] = type
                }
                for (result, buffer) in zip(results, resultBuffers) {
                    stmts.append(.store(buffer: buffer, index: flat, value: b.defined(result, in: local, placeholder: .f32(0), "the store of a result")))
                }
                return stmts
            }
            return hoisted + inner
        }
    }

    /// Coalesced iteration dims and, per operand, its strides over them (0 where broadcast):
    /// axis k merges into k+1 when every operand walks both as one run.
    static func coalesce(_ shape: Shape, _ operandShapes: [Shape]) -> (dims: [Int], strides: [[Int]]) {
        var dims = shape.dims.isEmpty ? [1] : shape.dims
        var strides = operandShapes.map { $0.rank == 0 ? [Int](repeating: 0, count: dims.count) : $0.broadcastStrides(to: Shape(dims)) }
        var k = dims.count - 2
        while k >= 0 {
            let mergeable = strides.allSatisfy { st in (st[k] == 0 && st[k + 1] == 0) || (st[k + 1] != 0 && st[k] == st[k + 1] * dims[k + 1]) }
            if mergeable {
                dims[k + 1] *= dims[k]
                dims.remove(at: k)
                for j in strides.indices { strides[j].remove(at: k) }
            }
            k -= 1
        }
        // One long run: cut it into rows so threads can share it.
        if dims.count == 1, dims[0] >= 1 << 16, dims[0] % 4096 == 0 {
            dims = [dims[0] / 4096, 4096]
            strides = strides.map { $0[0] == 0 ? [0, 0] : [4096 * $0[0], $0[0]] }
        }
        return (dims, strides)
    }
}

/// A fused body evaluated at one element of its iteration space, given as a full multi-index:
/// elementwise nodes compute from their operands' values at the same index (external operands
/// loaded with broadcast strides), index-map leaves (slice, pad, transpose, reshape) load their
/// external operand at the mapped position. Every value is bound once.
struct FusedBody {
    let nodes: [Node]
    let shape: Shape
    let types: [String: TensorType]
    /// Kernel buffer of each value read from memory.
    let buffers: [String: Int]

    /// The kernel buffers of the values `body` reads from memory: every operand but the known
    /// constants, except that an index map (pad, slice, …) loads its operand at a mapped
    /// position, so it needs that operand's buffer even when it is a constant (a padded constant
    /// tensor, a gradient's slice of `d_loss`).
    static func buffers(_ b: inout KernelBuilder, for operands: [String], body: [Node], types: [String: TensorType]) -> [String: Int] {
        let mapped = Set(body.filter { $0.op.fusionRole == .indexMap }.compactMap(\.operands.first))
        var buffers: [String: Int] = [:]
        for operand in operands where b.constants[operand] == nil || mapped.contains(operand) {
            buffers[operand] = b.buffer(operand, b.type(of: operand, in: types))
        }
        return buffers
    }

    /// The body's statements and values at one element; `given` supplies values (f32) the
    /// caller already has, read instead of their buffers (a GEMM tile's product from L1).
    func evaluate(_ b: inout KernelBuilder, index: [Expr], flat: Expr, given: [String: Expr] = [:]) -> (stmts: [Stmt], values: [String: Expr]) {
        var stmts: [Stmt] = []
        var values: [String: Expr] = given
        var scalar: [String: ScalarType] = given.mapValues { _ in .f32 }
        func external(_ name: String) -> Expr {
            if let v = values[name] { return v }
            if let c = b.constants[name] {
                scalar[name] = ScalarType(b.type(of: name, in: types).dtype)
                return c
            }
            let type = b.type(of: name, in: types)
            let v = b.fresh()
            // An operand of the body's own shape is read at the flat index: the same element, and
            // affine where the multi-index is not (a register tile's epilogue vectorises).
            let at: Expr = type.shape == shape ? flat : .linear(index, type.shape.broadcastStrides(to: shape))
            stmts.append(.bind(v, .load(buffer: b.defined(name, in: buffers, placeholder: 0, "a load (no buffer)"), index: at)))
            values[name] = .value(v)
            scalar[name] = ScalarType(type.dtype)
            return .value(v)
        }
        for node in nodes {
            let value: Expr
            if let map = node.op.indexMap, let operand = node.operands.first, let source = types[operand] {
                value = LayoutLowering.mappedLoad(map, node, buffer: b.defined(operand, in: buffers, placeholder: 0, "'\(node.name)' (no buffer)"),
                                                  source: source, index: index, flat: flat)
            } else {
                let x = node.operands.map { values[$0] ?? external($0) }
                let t = node.operands.map { b.defined($0, in: scalar, placeholder: .f32, "'\(node.name)'") }
                value = b.scalarValue(of: node, x, types: t, at: .init(flatIndex: flat))
            }
            let v = b.fresh()
            stmts.append(.bind(v, value))
            values[node.name] = .value(v)
            scalar[node.name] = ScalarType(b.type(of: node).dtype)
        }
        return (stmts, values)
    }
}

extension ElementwiseLowering {
    /// A fused kernel holding index maps: full-rank loops (the maps need every coordinate).
    static func lowerIndexed(_ b: inout KernelBuilder, shape: Shape, body: [Node], operands: [String],
                             results: [String], types: [String: TensorType]) -> [Stmt] {
        let buffers = FusedBody.buffers(&b, for: operands, body: body, types: types)
        let resultBuffers = results.map { b.buffer($0, b.type(of: $0, in: types)) }
        let fused = FusedBody(nodes: body, shape: shape, types: types, buffers: buffers)
        return b.forEachElement(of: shape) { b, index, flat in
            let (stmts, values) = fused.evaluate(&b, index: index, flat: flat)
            return stmts + zip(results, resultBuffers).map {
                .store(buffer: $0.1, index: flat, value: b.defined($0.0, in: values, placeholder: .f32(0), "the store of a result"))
            }
        }
    }
}
