import KilnIR

/// ONNX `Col2Im` (any number of spatial axes) with the image and block shapes known at import:
/// every column element's destination pixel is computed at import (as ONNX's reference walks
/// them), and Kiln's scatter-add (`gather_grad`) sums the columns into the image; elements
/// that land in the padding go to a spare row that is cut off.
enum Col2ImConverter {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["Col2Im"] = convert
    }

    static func convert(_ ctx: ImportContext) throws {
        let xd = try ctx.shape(0)
        let image = try ctx.requiredConstant(1, "image_shape").integers("image_shape")
        let block = try ctx.requiredConstant(2, "block_shape").integers("block_shape")
        let k = image.count
        guard k >= 1, block.count == k, xd.count == 3, try ctx.type(0).dtype == .f32,
              image.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }), block.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }) else {
            throw ConversionError("input must be float [N, C·∏block, L] with image_shape and block_shape of one positive size per axis")
        }
        let dilations = try ctx.attributes.ints("dilations") ?? Array(repeating: 1, count: k)
        let strides = try ctx.attributes.ints("strides") ?? Array(repeating: 1, count: k)
        let pads = try ctx.attributes.ints("pads") ?? Array(repeating: 0, count: 2 * k)
        guard dilations.count == k, strides.count == k, pads.count == 2 * k,
              dilations.allSatisfy({ $0 >= 1 && $0 <= 1 << 20 }), strides.allSatisfy({ $0 >= 1 && $0 <= 1 << 20 }),
              pads.allSatisfy({ $0 >= 0 && $0 <= 1 << 20 }) else {
            throw ConversionError("dilations \(dilations), strides \(strides) and pads \(pads) must be positive (pads ≥ 0) and one per axis")
        }
        let kernel = block.reduce(1, *)
        guard xd[1] % kernel == 0 else { throw ConversionError("input's dimension 1 (\(xd[1])) is not a multiple of the block's \(kernel) elements") }
        var blocks: [Int] = []
        for a in 0..<k {
            let span = dilations[a] * (block[a] - 1) + 1
            let padded = image[a] + pads[a] + pads[k + a]
            guard padded >= span else { throw ConversionError("the block \(block) (dilated) is larger than the padded image along axis \(a)") }
            blocks.append((padded - span) / strides[a] + 1)
        }
        guard blocks.allSatisfy({ $0 >= 1 }), blocks.reduce(1, *) == xd[2] else {
            throw ConversionError("input's dimension 2 (\(xd[2])) is not the \(blocks) sliding blocks of the image")
        }
        let (n, c, length) = (xd[0], xd[1] / kernel, xd[2])
        guard kernel * length <= ConstantFolder.budget else { throw ConversionError("\(kernel) × \(length) column positions are beyond \(ConstantFolder.budget)") }
        let pixels = image.reduce(1, *)
        let kernelStrides = IndexingConverters.strides(block), blockStrides = IndexingConverters.strides(blocks), imageStrides = IndexingConverters.strides(image)
        var destination: [Double] = []
        destination.reserveCapacity(kernel * length)
        for offset in 0..<kernel {
            for position in 0..<length {
                var flat = 0, inside = true
                for a in 0..<k {
                    let kOffset = (offset / kernelStrides[a]) % block[a], bIndex = (position / blockStrides[a]) % blocks[a]
                    let i = bIndex * strides[a] - pads[a] + kOffset * dilations[a]
                    if i < 0 || i >= image[a] { inside = false }
                    flat += i * imageStrides[a]
                }
                destination.append(Double(inside ? flat : pixels))
            }
        }
        // [N, C·K, L] → [N·C, K·L] → rows [K·L, N·C], scattered to [pixels + 1, N·C].
        let columns = try ctx.emit(.reshape, [try ctx.operand(0)], [("shape", .ints([n * c, kernel * length]))])
        let rows = try ctx.emit(.transpose, [columns], [("perm", .ints([1, 0]))])
        let index = try ctx.stateTensor("col2im_destination", ConstantTensor(shape: [kernel * length], values: destination, isInteger: true))
        let summed = try ctx.emit(.gather_grad, [rows, index], [("rows", .int(pixels + 1))])
        let kept = try ctx.emit(.slice, [summed], [("begin", .ints([0, 0])), ("end", .ints([pixels, n * c]))])
        let planes = try ctx.emit(.transpose, [kept], [("perm", .ints([1, 0]))])
        try ctx.define(0, try ctx.emit(.reshape, [planes], [("shape", .ints([n, c] + image))]))
    }
}
