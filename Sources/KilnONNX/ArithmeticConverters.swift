import KilnIR

/// Ops Kiln has no op for, written as compositions: `Mod` (exact on integers; on floats
/// a − trunc(a/b)·b, within f32 rounding of the quotient), `Round` (half to even, exact),
/// `Celu`, `Shrink` and `ReduceLogSum`.
enum ArithmeticConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["Mod"] = { ctx in
            let a = try ctx.operand(0), b = try ctx.operand(1)
            let dtype = try ctx.kilnType(a).dtype
            guard try ctx.kilnType(b).dtype == dtype else { throw ConversionError("A and B must have the same element type") }
            let fmod = try ctx.attributes.int("fmod", 0) != 0
            try ctx.define(0, try mod(ctx, a, b, floored: !fmod))
        }
        t["Round"] = { ctx in try ctx.define(0, try roundHalfEven(ctx, try ctx.operand(0))) }
        t["Celu"] = { ctx in
            let x = try ctx.operand(0), alpha = try ctx.attributes.float("alpha", 1)
            guard alpha != 0, alpha.isFinite else { throw ConversionError("alpha must be finite and non-zero, got \(alpha)") }
            let a = try ctx.constantNode(alpha)
            let negative = try ctx.emit(.mul, [a, try ctx.emit(.sub, [try ctx.emit(.exp, [try ctx.emit(.div, [x, a])]), try ctx.constantNode(1)])])
            let positive = try ctx.emit(.greater, [x, try ctx.constantNode(0)])
            try ctx.define(0, try ctx.emit(.select, [positive, x, negative]))
        }
        t["Shrink"] = { ctx in
            let x = try ctx.operand(0), dtype = try ctx.kilnType(x).dtype
            let lambd = try ctx.attributes.float("lambd", 0.5), bias = try ctx.attributes.float("bias", 0)
            let low = try ctx.emit(.less, [x, try ctx.constantNode(-lambd, dtype: dtype)])
            let high = try ctx.emit(.greater, [x, try ctx.constantNode(lambd, dtype: dtype)])
            let b = try ctx.constantNode(bias, dtype: dtype), zero = try ctx.constantNode(0, dtype: dtype)
            let upper = try ctx.emit(.select, [high, try ctx.emit(.sub, [x, b]), zero])
            try ctx.define(0, try ctx.emit(.select, [low, try ctx.emit(.add, [x, b]), upper]))
        }
    }

    /// a mod b: the remainder of truncated division (C's fmod), or with `floored` the one that
    /// takes the divisor's sign (Python's %). Integer division by zero gives 0 (Kiln's div).
    static func mod(_ ctx: ImportContext, _ a: String, _ b: String, floored: Bool) throws -> String {
        let dtype = try ctx.kilnType(a).dtype
        let zero = try ctx.constantNode(0, dtype: dtype)
        var quotient = try ctx.emit(.div, [a, b])
        if dtype == .f32 { quotient = try truncate(ctx, quotient) }
        var r = try ctx.emit(.sub, [a, try ctx.emit(.mul, [quotient, b])])
        if dtype == .f32 {
            // fmod(a, ±∞) = a for finite a (a/∞ = 0 would give a − 0·∞ = NaN).
            let infinite = try ctx.emit(.equal, [try ctx.emit(.abs, [b]), try ctx.constantNode(.infinity)])
            let finite = try ctx.emit(.less, [try ctx.emit(.abs, [a]), try ctx.constantNode(.infinity)])
            r = try ctx.emit(.select, [try ctx.emit(.min, [infinite, finite]), a, r])
        }
        guard floored else { return r }
        // A non-zero remainder whose sign differs from the divisor's moves by one divisor.
        let nonzero = try ctx.emit(.not_equal, [r, zero])
        let differ = try ctx.emit(.not_equal, [try ctx.emit(.less, [r, zero]), try ctx.emit(.less, [b, zero])])
        return try ctx.emit(.select, [try ctx.emit(.min, [nonzero, differ]), try ctx.emit(.add, [r, b]), r])
    }

    /// Rounding toward zero of f32 values (|x| ≥ 2^23 is an integer already; NaN stays).
    static func truncate(_ ctx: ImportContext, _ x: String) throws -> String {
        let cast = try ctx.emit(.cast, [try ctx.emit(.cast, [x], [("dtype", .dtype(.i32))])], [("dtype", .dtype(.f32))])
        let small = try ctx.emit(.less, [try ctx.emit(.abs, [x]), try ctx.constantNode(8_388_608)])
        return try ctx.emit(.select, [small, cast, x])
    }

    /// Round half to even: floor, then up when the rest is above ½, or exactly ½ from an odd floor.
    /// x − floor(x) is exact for every f32, so no rounding of x + ½ can misplace a tie.
    static func roundHalfEven(_ ctx: ImportContext, _ x: String) throws -> String {
        guard try ctx.kilnType(x).dtype == .f32 else { return x }
        let f = try RoundingConverters.floor(ctx, x)
        let rest = try ctx.emit(.sub, [x, f])
        let half = try ctx.constantNode(0.5)
        let halfF = try ctx.emit(.mul, [f, half])
        let odd = try ctx.emit(.not_equal, [try RoundingConverters.floor(ctx, halfF), halfF])
        let tieUp = try ctx.emit(.min, [try ctx.emit(.equal, [rest, half]), odd])
        let up = try ctx.emit(.max, [try ctx.emit(.greater, [rest, half]), tieUp])
        let rounded = try ctx.emit(.add, [f, try ctx.emit(.cast, [up], [("dtype", .dtype(.f32))])])
        // Infinities: x − floor(x) is NaN, and the comparisons leave floor(x) = x.
        return rounded
    }
}
