import KilnIR

/// `ScatterElements` (and its opset-9/10 name `Scatter`): every update element goes to the
/// data element that has its own position except along `axis`, where the index says. The flat
/// target of each element — index·stride(axis) plus the rest of its position, computed at
/// import — feeds Kiln's scatter-add (`gather_grad`), with indices known or at run time;
/// reduction none replaces what was written, add adds. Float data only (the scatter-add is f32).
enum ScatterElementsConverter {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["ScatterElements"] = convert
        t["Scatter"] = convert
    }

    static func convert(_ ctx: ImportContext) throws {
        let dims = try ctx.shape(0), indexDims = try ctx.shape(1), rank = dims.count
        guard rank >= 1, indexDims.count == rank, try ctx.shape(2) == indexDims else {
            throw ConversionError("indices \(indexDims) and updates \(try ctx.shape(2)) must have one shape, of the data's rank \(rank)")
        }
        guard try ctx.type(0).dtype == .f32, try ctx.type(2).dtype == .f32 else {
            throw ConversionError("integer data is not supported (Kiln's scatter-add is defined on floats)")
        }
        let reduction = ctx.attributes.string("reduction", "none")
        guard reduction == "none" || reduction == "add" else { throw ConversionError("reduction '\(reduction)' is not supported (none or add)") }
        let axis = try ctx.axis(try ctx.attributes.int("axis", 0), rank: rank)
        for a in 0..<rank where a != axis && indexDims[a] > dims[a] {
            throw ConversionError("indices \(indexDims) are larger than the data \(dims) along axis \(a)")
        }
        guard let total = checkedElementCount(dims), let count = checkedElementCount(indexDims), count <= ConstantFolder.budget else {
            throw ConversionError("indices \(indexDims) are too many to place at import")
        }
        let stride = IndexingConverters.strides(dims), own = IndexingConverters.strides(indexDims)
        // base[i]: the flat data position of update i with its axis coordinate 0.
        var base = [Double](repeating: 0, count: count)
        for i in 0..<count {
            var rest = i, offset = 0
            for a in 0..<rank {
                let coordinate = rest / own[a]
                rest %= own[a]
                if a != axis { offset += coordinate * stride[a] }
            }
            base[i] = Double(offset)
        }
        var idx = try ctx.emit(.reshape, [try ctx.operand(1)], [("shape", .ints([count]))])
        guard try ctx.kilnType(idx).dtype == .i32 else { throw ConversionError("indices must be integers") }
        let n = try ctx.constantNode(Double(dims[axis]), dtype: .i32)
        idx = try ctx.emit(.add, [idx, try ctx.emit(.mul, [try ctx.emit(.less, [idx, try ctx.constantNode(0, dtype: .i32)]), n])])
        if let known = ctx.constant(1) {
            for raw in try known.integers("indices") where raw < -dims[axis] || raw >= dims[axis] {
                throw ConversionError("index \(raw) is out of range for axis \(axis) of size \(dims[axis])")
            }
        }
        let rows = try ctx.emit(.add, [try ctx.emit(.mul, [idx, try ctx.constantNode(Double(stride[axis]), dtype: .i32)]),
                                       try ctx.stateTensor("scatter_base", ConstantTensor(shape: [count], values: base, isInteger: true))])
        let data = try ctx.emit(.reshape, [try ctx.operand(0)], [("shape", .ints([total]))])
        let updates = try ctx.emit(.reshape, [try ctx.operand(2)], [("shape", .ints([count]))])
        let scattered = try ctx.emit(.gather_grad, [updates, rows], [("rows", .int(total))])
        let y: String
        if reduction == "add" {
            y = try ctx.emit(.add, [data, scattered])
        } else {
            let writes = try ctx.emit(.gather_grad, [try ctx.constantNode(1, shape: [count]), rows], [("rows", .int(total))])
            y = try ctx.emit(.select, [try ctx.emit(.greater, [writes, try ctx.constantNode(0)]), scattered, data])
        }
        try ctx.define(0, try ctx.emit(.reshape, [y], [("shape", .ints(dims))]))
    }
}
