import Foundation
import KilnIR

/// Folding rules over Kiln's constants, which are uniform fills (`constant(value, shape)`).
/// Arithmetic is done in Float, as every backend computes, so folding never changes a result.
enum ConstantFolding {
    /// The folded value of `node` if all its operands are f32 constants and the op is foldable.
    static func fold(_ node: Node, constants: [String: Float]) -> Float? {
        let values = node.operands.compactMap { constants[$0] }
        guard values.count == node.operands.count, !values.isEmpty, node.type?.dtype == .f32 else { return nil }
        let a = values[0], b = values.count > 1 ? values[1] : 0
        switch node.op {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        // NaN-propagating, like both backends.
        case .max: return a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
        case .min: return a.isNaN || b.isNaN ? .nan : Swift.min(a, b)
        case .pow: return Foundation.pow(a, b)
        case .neg: return -a
        case .square: return a * a
        case .abs: return Swift.abs(a)
        case .sqrt: return a.squareRoot()
        case .exp: return Foundation.exp(a)
        case .log: return Foundation.log(a)
        // A uniform fill looks the same after any layout change, and its mean or max is itself.
        case .reshape, .broadcast_to, .transpose, .reduce_max, .reduce_mean: return a
        default: return nil
        }
    }

    /// Canonical decimal for a float constant, so folded values print like written ones.
    static func canonical(_ value: Float) -> Double { Double(String(value)) ?? Double(value) }
}
