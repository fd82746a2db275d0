import Foundation
import KilnIR

/// ONNX's `Gelu` from Kiln's elementwise ops: exact (through the `erf` op) or its tanh form.
enum GeluExpansion {
    /// x·Φ(x) = ½x(1 + erf(x/√2)).
    static func gelu(_ ctx: ImportContext, _ x: String) throws -> String {
        let e = try ctx.emit(.erf, [try ctx.emit(.mul, [x, try ctx.constantNode(1 / 2.0.squareRoot())])])
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
