import CLLVM

/// Vectorisable float math built into each module that uses it: no libm calls inside kernel
/// loops (a scalar `expf` per element is a measured 10× slowdown here), so the loop vectoriser
/// can turn these into AVX2 code. Cephes-style range reduction and polynomials, as internal
/// `alwaysinline` functions defined on first use (`IRModule.function`); accuracy is tested
/// against libm in `MathLibraryTests` over dense sweeps and edge values (±0, denormals, ±inf,
/// NaN, the overflow and underflow thresholds).
enum MathLibrary {
    /// The routines by name: each builds its body from its one argument.
    private static let routines: [String: (argument: IRType, body: (FunctionBuilder, IRValue) -> IRValue)] = [
        "kiln_exp": (.f32, MathLibrary.exp), "kiln_log": (.f32, MathLibrary.log), "kiln_tanh": (.f32, MathLibrary.tanh),
        "kiln_sigmoid": (.f32, MathLibrary.sigmoid), "kiln_expm1": (.f32, MathLibrary.expm1), "kiln_log1p": (.f32, MathLibrary.log1p),
        "kiln_mix": (.i64, MathLibrary.mix),
    ]

    /// Defines `function` in `module` if `name` is one of the library's routines.
    static func define(_ name: String, _ function: LLVMValueRef, in module: IRModule) {
        guard let routine = routines[name] else { return }
        LLVMSetLinkage(function, LLVMInternalLinkage)
        module.addAttribute("alwaysinline", to: function)
        let f = FunctionBuilder(module: module, function: function)
        f.ret(routine.body(f, f.parameter(0, routine.argument, name: "x")))
        f.finish()
    }

    private static func fadd(_ f: FunctionBuilder, _ a: IRValue, _ b: IRValue) -> IRValue { f.binary(LLVMFAdd, a, b) }
    private static func fsub(_ f: FunctionBuilder, _ a: IRValue, _ b: IRValue) -> IRValue { f.binary(LLVMFSub, a, b) }
    private static func fmul(_ f: FunctionBuilder, _ a: IRValue, _ b: IRValue) -> IRValue { f.binary(LLVMFMul, a, b) }
    private static func fdiv(_ f: FunctionBuilder, _ a: IRValue, _ b: IRValue) -> IRValue { f.binary(LLVMFDiv, a, b) }
    private static func fabs(_ f: FunctionBuilder, _ x: IRValue) -> IRValue { f.call("llvm.fabs.f32", .f32, [x]) }

    /// ((c₀·x + c₁)·x + c₂)·x + … in that order of operations.
    private static func horner(_ f: FunctionBuilder, _ x: IRValue, _ coefficients: [Float]) -> IRValue {
        var p = fmul(f, x, .f32(coefficients[0]))
        for (i, c) in coefficients.dropFirst().enumerated() {
            if i > 0 { p = fmul(f, p, x) }
            p = fadd(f, p, .f32(c))
        }
        return p
    }

    static func exp(_ f: FunctionBuilder, _ x: IRValue) -> IRValue {
        let lo = f.call("llvm.maxnum.f32", .f32, [x, .f32(-105)])
        let c = f.call("llvm.minnum.f32", .f32, [lo, .f32(88.72283935546875)])
        let n = f.call("llvm.floor.f32", .f32, [fadd(f, fmul(f, c, .f32(1.44269504088896341)), .f32(0.5))])
        let r = fsub(f, fsub(f, c, fmul(f, n, .f32(0.693359375))), fmul(f, n, .f32(-2.12194440e-4)))
        let p9 = horner(f, r, [1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2, 1.6666665459E-1, 0.5])
        let p12 = fadd(f, fadd(f, fmul(f, p9, fmul(f, r, r)), r), .f32(1))
        // 2^n as two factors 2^h·2^(n−h), each a normal float: n spans [−152, 128], so results
        // reach FLT_MAX without overflowing early and underflow gradually through the denormals.
        let ni = f.cast(LLVMFPToSI, n, to: .i32)
        let h = f.binary(LLVMAShr, ni, .i32(1))
        let l = f.binary(LLVMSub, ni, h)
        func power(_ e: IRValue) -> IRValue {
            f.cast(LLVMBitCast, f.binary(LLVMShl, f.binary(LLVMAdd, e, .i32(127)), .i32(23)), to: .f32)
        }
        let (sh, sl) = (power(h), power(l))
        let y = fmul(f, fmul(f, p12, sh), sl)
        let over = f.compare("ogt", x, .f32(88.72283935546875))
        let yo = f.select(over, .f32(.infinity), y)
        return f.select(f.compare("uno", x, .f32(0)), x, yo)
    }

    static func log(_ f: FunctionBuilder, _ x: IRValue) -> IRValue {
        // Denormals are scaled by 2^23 first (their exponent field is 0).
        let den = f.compare("olt", x, .f32(Float.leastNormalMagnitude))
        let xs = f.select(den, fmul(f, x, .f32(8_388_608)), x)
        let bits = f.cast(LLVMBitCast, xs, to: .i32)
        let en = f.binary(LLVMSub, f.binary(LLVMAnd, f.binary(LLVMLShr, bits, .i32(23)), .i32(255)), .i32(126))
        let e0 = f.select(den, f.binary(LLVMSub, en, .i32(23)), en)
        let mo = f.binary(LLVMOr, f.binary(LLVMAnd, bits, .i32(8_388_607)), .i32(1_056_964_608))
        let m0 = f.cast(LLVMBitCast, mo, to: .f32)
        let small = f.compare("olt", m0, .f32(0.707106781186547524))
        let e = f.select(small, f.binary(LLVMSub, e0, .i32(1)), e0)
        let m = fsub(f, f.select(small, fadd(f, m0, m0), m0), .f32(1))
        let z = fmul(f, m, m)
        let q15 = horner(f, m, [7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1,
                               -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1])
        let y0 = fmul(f, fmul(f, m, z), q15)
        let ef = f.cast(LLVMSIToFP, e, to: .f32)
        let y2 = fadd(f, y0, fmul(f, ef, .f32(-2.12194440e-4)))
        let y4 = fadd(f, m, fsub(f, y2, fmul(f, z, .f32(0.5))))
        let y = fadd(f, y4, fmul(f, ef, .f32(0.693359375)))
        let a = f.select(f.compare("oeq", x, .f32(0)), .f32(-.infinity), y)
        let b = f.select(f.compare("olt", x, .f32(0)), .f32(.nan), a)
        let c = f.select(f.compare("oeq", x, .f32(.infinity)), x, b)
        return f.select(f.compare("uno", x, .f32(0)), x, c)
    }

    static func tanh(_ f: FunctionBuilder, _ x: IRValue) -> IRValue {
        let ax = fabs(f, x)
        let z = fmul(f, x, x)
        let p7 = horner(f, z, [-5.70498872745E-3, 2.06390887954E-2, -5.37397155531E-2, 1.33314422036E-1, -3.33332819422E-1])
        let small = fadd(f, fmul(f, fmul(f, p7, z), x), x)
        let e = f.call("kiln_exp", .f32, [fmul(f, ax, .f32(2))])
        let big = fsub(f, .f32(1), fdiv(f, .f32(2), fadd(f, e, .f32(1))))
        let signed = f.call("llvm.copysign.f32", .f32, [big, x])
        return f.select(f.compare("olt", ax, .f32(0.625)), small, signed)
    }

    /// 1/(1 + e^−x) for x ≥ 0, e^x/(1 + e^x) below: never exponentiates a large positive number.
    static func sigmoid(_ f: FunctionBuilder, _ x: IRValue) -> IRValue {
        let e = f.call("kiln_exp", .f32, [f.fneg(fabs(f, x))])
        let d = fadd(f, e, .f32(1))
        let (pos, neg) = (fdiv(f, .f32(1), d), fdiv(f, e, d))
        return f.select(f.compare("oge", x, .f32(0)), pos, neg)
    }

    /// e^x − 1 without cancellation near 0: Kahan's (u − 1)·x / log u with u = e^x.
    static func expm1(_ f: FunctionBuilder, _ x: IRValue) -> IRValue {
        let u = f.call("kiln_exp", .f32, [x])
        let um1 = fsub(f, u, .f32(1))
        let lu = f.call("kiln_log", .f32, [u])
        let k = fmul(f, um1, fdiv(f, x, lu))
        let r1 = f.select(f.compare("olt", fabs(f, x), .f32(0.5)), k, um1)
        return f.select(f.compare("oeq", u, .f32(1)), x, r1)
    }

    /// log(1 + x) without cancellation near 0: log(u)·x / (u − 1) with u = 1 + x.
    static func log1p(_ f: FunctionBuilder, _ x: IRValue) -> IRValue {
        let u = fadd(f, x, .f32(1))
        let lu = f.call("kiln_log", .f32, [u])
        let k = fmul(f, lu, fdiv(f, x, fsub(f, u, .f32(1))))
        let r1 = f.select(f.compare("oeq", u, .f32(.infinity)), lu, k)
        return f.select(f.compare("oeq", u, .f32(1)), x, r1)
    }

    /// The splitmix64 finaliser (KilnRandom.mix).
    static func mix(_ f: FunctionBuilder, _ v: IRValue) -> IRValue {
        func constant(_ c: UInt64) -> IRValue { IRValue(integer: Int64(bitPattern: c), .i64) }
        func shiftXor(_ z: IRValue, _ s: Int) -> IRValue { f.binary(LLVMXor, z, f.binary(LLVMLShr, z, .i64(s))) }
        let z0 = f.binary(LLVMAdd, v, constant(0x9E37_79B9_7F4A_7C15))
        let z1 = f.binary(LLVMMul, shiftXor(z0, 30), constant(0xBF58_476D_1CE4_E5B9))
        let z2 = f.binary(LLVMMul, shiftXor(z1, 27), constant(0x94D0_49BB_1331_11EB))
        return shiftXor(z2, 31)
    }
}
