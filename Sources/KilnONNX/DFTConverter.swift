import Foundation
import KilnIR

/// ONNX `DFT` (opsets 17 and 20) as products with cosine and sine matrices computed at import
/// in double precision: forward, inverse (1/L), one-sided forward (the first L/2 + 1 terms)
/// and one-sided inverse (a real signal from the Hermitian half, numpy's irfft). The signal is
/// cut or zero-padded to `dft_length`, as numpy's `n` does. O(L²) per signal, not an FFT.
enum DFTConverter {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["DFT"] = convert
    }

    static func convert(_ ctx: ImportContext) throws {
        let dims = try ctx.shape(0), rank = dims.count
        guard rank >= 2, dims[rank - 1] == 1 || dims[rank - 1] == 2, try ctx.type(0).dtype == .f32 else {
            throw ConversionError("input must be float [..., signal, 1 or 2], got \(try ctx.type(0))")
        }
        let rawAxis: Int
        if ctx.opset >= 20 {
            rawAxis = ctx.hasInput(2) ? try ctx.requiredConstant(2, "axis").integers("axis").first ?? -2 : -2
        } else {
            rawAxis = try ctx.attributes.int("axis", 1)
        }
        let axis = try ctx.axis(rawAxis, rank: rank)
        guard axis < rank - 1 else { throw ConversionError("axis \(rawAxis) is the complex axis") }
        let inverse = try ctx.attributes.int("inverse", 0) != 0, onesided = try ctx.attributes.int("onesided", 0) != 0
        let n = dims[axis]
        var length = inverse && onesided ? 2 * (n - 1) : n
        if ctx.hasInput(1) { length = try ctx.requiredConstant(1, "dft_length").integers("dft_length").first ?? length }
        guard length >= 1, length <= 1 << 16 else { throw ConversionError("dft_length \(length) must be in [1, 65536]") }
        // Terms read from the input and produced.
        let inputs = inverse && onesided ? length / 2 + 1 : length
        let outputs = !inverse && onesided ? length / 2 + 1 : length
        guard inputs * outputs <= ConstantFolder.budget else { throw ConversionError("a DFT of length \(length) needs a \(inputs)×\(outputs) matrix, beyond \(ConstantFolder.budget) values") }

        // Signal axis moved last (before it: every other axis), as [rows, n] real and imaginary.
        var perm = (0..<(rank - 1)).filter { $0 != axis }
        perm.append(axis)
        let lead = perm.dropLast().map { dims[$0] }, rows = lead.reduce(1, *)
        let moved = try ctx.emit(.transpose, [try ctx.operand(0)], [("perm", .ints(perm + [rank - 1]))])
        func part(_ c: Int) throws -> String {
            let sliced = try ctx.emit(.slice, [moved], [("begin", .ints(Array(repeating: 0, count: rank - 1) + [c])), ("end", .ints(lead + [n, c + 1]))])
            var v = try ctx.emit(.reshape, [sliced], [("shape", .ints([rows, n]))])
            if n > inputs { v = try ctx.emit(.slice, [v], [("begin", .ints([0, 0])), ("end", .ints([rows, inputs]))]) }
            if n < inputs { v = try ctx.emit(.pad, [v], [("before", .ints([0, 0])), ("after", .ints([0, inputs - n]))]) }
            return v
        }
        let real = try part(0)
        let imaginary: String? = dims[rank - 1] == 2 ? try part(1) : nil
        func matrix(_ name: String, _ f: (Int, Int) -> Double) throws -> String {
            var values: [Double] = []
            values.reserveCapacity(inputs * outputs)
            for j in 0..<inputs { for k in 0..<outputs { values.append(f(j, k)) } }
            return try ctx.stateTensor(name, ConstantTensor(shape: [inputs, outputs], values: values, isInteger: false))
        }
        let step = 2 * Double.pi / Double(length)
        // j·k reduced mod L before the angle: exact arguments for long signals.
        func angle(_ j: Int, _ k: Int) -> Double { Double((j * k) % length) * step }
        let scale = inverse ? 1 / Double(length) : 1
        let weight: (Int) -> Double = { j in inverse && onesided && j != 0 && !(length % 2 == 0 && j == length / 2) ? 2 : 1 }
        let cosine = try matrix("dft_cos") { j, k in cos(angle(j, k)) * scale * weight(j) }
        let sine = try matrix("dft_sin") { j, k in sin(angle(j, k)) * scale * weight(j) }
        func product(_ a: String, _ m: String) throws -> String { try ctx.emit(.matmul, [a, m]) }
        // Forward: (R + iI)(cos − i sin); inverse: (R + iI)(cos + i sin) / L.
        let sign = inverse ? -1.0 : 1.0
        var outReal = try product(real, cosine)
        var outImaginary = try ctx.emit(.neg, [try product(real, sine)])
        if inverse { outImaginary = try product(real, sine) }
        if let imaginary {
            let iSin = try product(imaginary, sine), iCos = try product(imaginary, cosine)
            outReal = try ctx.emit(sign > 0 ? .add : .sub, [outReal, iSin])
            outImaginary = try ctx.emit(.add, [outImaginary, iCos])
        }
        var parts = [outReal]
        if !(inverse && onesided) { parts.append(outImaginary) }
        let stacked = try parts.map { try ctx.emit(.reshape, [$0], [("shape", .ints(lead + [outputs, 1]))]) }
        var y = stacked.count == 1 ? stacked[0] : try ctx.emit(.concat, stacked, [("axis", .int(rank - 1))])
        var inversePerm = Array(repeating: 0, count: rank)
        for (i, p) in (perm + [rank - 1]).enumerated() { inversePerm[p] = i }
        y = try ctx.emit(.transpose, [y], [("perm", .ints(inversePerm))])
        try ctx.define(0, y)
    }
}
