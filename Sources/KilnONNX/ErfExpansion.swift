import Foundation
import KilnIR

/// `erf` from Kiln's elementwise ops, since Kiln has no `erf` op: a Taylor series for |x| < 0.5
/// and Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7) beyond, selected per element. In f32 the
/// result is within about 2e-7 of the true value everywhere (ONNX's test tolerances are 1e-3
/// relative), and the whole expansion fuses into one elementwise kernel.
enum ErfExpansion {
    static func erf(_ ctx: ImportContext, _ x: String) throws -> String {
        func c(_ v: Double) throws -> String { try ctx.constantNode(v) }
        func mul(_ a: String, _ b: String) throws -> String { try ctx.emit(.mul, [a, b]) }
        func add(_ a: String, _ b: String) throws -> String { try ctx.emit(.add, [a, b]) }
        let ax = try ctx.emit(.abs, [x])
        let x2 = try ctx.emit(.square, [x])
        // Small |x|: x·2/√π·(1 − x²/3 + x⁴/10 − x⁶/42 + x⁸/216 − x¹⁰/1320); the next term is < 3e-8 relative.
        var series = try c(-1.0 / 1320)
        for coefficient in [1.0 / 216, -1.0 / 42, 1.0 / 10, -1.0 / 3, 1.0] { series = try add(try mul(series, x2), try c(coefficient)) }
        let small = try mul(try mul(x, try c(2 / Double.pi.squareRoot())), series)
        // Large |x|: 1 − (a₁t + a₂t² + … + a₅t⁵)·e^(−x²), t = 1/(1 + p|x|), with the sign of x.
        let t = try ctx.emit(.div, [try c(1), try add(try c(1), try mul(try c(0.3275911), ax))])
        var poly = try c(1.061405429)
        for coefficient in [-1.453152027, 1.421413741, -0.284496736, 0.254829592] { poly = try add(try mul(poly, t), try c(coefficient)) }
        poly = try mul(poly, t)
        let tail = try mul(poly, try ctx.emit(.exp, [try ctx.emit(.neg, [x2])]))
        let large = try mul(try ctx.emit(.sign, [x]), try ctx.emit(.sub, [try c(1), tail]))
        return try ctx.emit(.select, [try ctx.emit(.less, [ax, try c(0.5)]), small, large])
    }

    /// x·Φ(x) = ½x(1 + erf(x/√2)).
    static func gelu(_ ctx: ImportContext, _ x: String) throws -> String {
        let e = try erf(ctx, try ctx.emit(.mul, [x, try ctx.constantNode(1 / 2.0.squareRoot())]))
        let half = try ctx.emit(.mul, [x, try ctx.constantNode(0.5)])
        return try ctx.emit(.mul, [half, try ctx.emit(.add, [try ctx.constantNode(1), e])])
    }

    /// ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
    static func geluTanh(_ ctx: ImportContext, _ x: String) throws -> String {
        let cube = try ctx.emit(.mul, [try ctx.emit(.square, [x]), x])
        let inner = try ctx.emit(.add, [x, try ctx.emit(.mul, [cube, try ctx.constantNode(0.044715)])])
        let th = try ctx.emit(.tanh, [try ctx.emit(.mul, [inner, try ctx.constantNode((2 / Double.pi).squareRoot())])])
        let half = try ctx.emit(.mul, [x, try ctx.constantNode(0.5)])
        return try ctx.emit(.mul, [half, try ctx.emit(.add, [try ctx.constantNode(1), th])])
    }
}
