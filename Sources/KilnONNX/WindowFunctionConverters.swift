import Foundation
import KilnIR

/// `HannWindow`, `HammingWindow`, `BlackmanWindow`: values that depend only on the window's
/// size, computed at import (in double precision, as ONNX's reference does) into a constant.
enum WindowFunctionConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        for name in ["HannWindow", "HammingWindow", "BlackmanWindow"] {
            t[name] = { ctx in
                let size = try ctx.requiredConstant(0, "size").integers("size")
                guard size.count == 1, let n = size.first, n >= 1, n <= ConstantFolder.budget else {
                    throw ConversionError("size \(size) must be one value in [1, \(ConstantFolder.budget)]")
                }
                let code = Int32(clamping: try ctx.attributes.int("output_datatype", Int(ONNXDataType.float)))
                guard let dtype = ONNXDataType.kilnType(code) else { throw ConversionError("output_datatype \(ONNXDataType.name(code)) is not supported (Kiln has f32 and i32)") }
                let periodic = try ctx.attributes.int("periodic", 1) != 0
                let denominator = Double(periodic ? n : n - 1)
                let values = (0..<n).map { i -> Double in
                    let x = Double(i)
                    switch name {
                    case "HannWindow": return pow(sin(x * .pi / denominator), 2)
                    case "HammingWindow": return 25.0 / 46.0 - cos(x * .pi * 2 / denominator) * (1 - 25.0 / 46.0)
                    default: return cos(x * .pi * 2 / denominator) * -0.5 + cos(x * .pi * 4 / denominator) * 0.08 + 0.42
                    }
                }
                let cast = dtype == .i32 ? values.map { $0.rounded(.towardZero) } : values
                ctx.define(0, constant: ConstantTensor(shape: [n], values: cast, isInteger: dtype == .i32))
            }
        }
    }
}
