import KilnIR

/// Boolean logic on 0/1 integers (Kiln's `bool`), NaN/∞ tests, and `Floor`/`Ceil`, which Kiln
/// has no op for: truncation by casting, corrected where it rounded up, leaving values of
/// magnitude ≥ 2^23 (already integers), infinities and NaN as they are — exact.
enum RoundingConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        for name in ["And", "Or", "Xor"] {
            t[name] = { ctx in
                let a = try truth(ctx, try ctx.operand(0)), b = try truth(ctx, try ctx.operand(1))
                let op: OpKind = name == "And" ? .min : name == "Or" ? .max : .not_equal
                try ctx.define(0, try ctx.emit(op, [a, b]))
            }
        }
        t["IsNaN"] = { ctx in
            let x = try ctx.operand(0)
            try ctx.define(0, try ctx.emit(.cast, [try ctx.emit(.not_equal, [x, x])], [("dtype", .dtype(.i32))]))
        }
        t["IsInf"] = { ctx in
            let x = try ctx.operand(0)
            let positive = try ctx.attributes.int("detect_positive", 1) != 0, negative = try ctx.attributes.int("detect_negative", 1) != 0
            let hit: String
            switch (positive, negative) {
            case (true, true): hit = try ctx.emit(.equal, [try ctx.emit(.abs, [x]), try ctx.constantNode(.infinity)])
            case (true, false): hit = try ctx.emit(.equal, [x, try ctx.constantNode(.infinity)])
            case (false, true): hit = try ctx.emit(.equal, [x, try ctx.constantNode(-.infinity)])
            case (false, false): hit = try ctx.emit(.equal, [x, try ctx.constantNode(.nan)])  // never
            }
            try ctx.define(0, try ctx.emit(.cast, [hit], [("dtype", .dtype(.i32))]))
        }
        t["Floor"] = { ctx in try ctx.define(0, try floor(ctx, try ctx.operand(0))) }
        t["Ceil"] = { ctx in
            let x = try ctx.operand(0)
            try ctx.define(0, try ctx.emit(.neg, [try floor(ctx, try ctx.emit(.neg, [x]))]))
        }
    }

    /// 1 where x ≠ 0, else 0, as i32.
    static func truth(_ ctx: ImportContext, _ x: String) throws -> String {
        let dtype = try ctx.kilnType(x).dtype
        let nonzero = try ctx.emit(.not_equal, [x, try ctx.constantNode(0, dtype: dtype)])
        return dtype == .i32 ? nonzero : try ctx.emit(.cast, [nonzero], [("dtype", .dtype(.i32))])
    }

    static func floor(_ ctx: ImportContext, _ x: String) throws -> String {
        guard try ctx.kilnType(x).dtype == .f32 else { return x }
        let truncated = try ctx.emit(.cast, [try ctx.emit(.cast, [x], [("dtype", .dtype(.i32))])], [("dtype", .dtype(.f32))])
        let roundedUp = try ctx.emit(.greater, [truncated, x])
        let down = try ctx.emit(.sub, [truncated, roundedUp])
        // |x| ≥ 2^23 is an integer already (and the cast would saturate); NaN fails the comparison.
        let small = try ctx.emit(.less, [try ctx.emit(.abs, [x]), try ctx.constantNode(8_388_608)])
        return try ctx.emit(.select, [small, down, x])
    }
}
