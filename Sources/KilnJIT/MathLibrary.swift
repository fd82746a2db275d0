import CLLVM

/// Vectorisable float math built into each module that uses it: no libm calls inside kernel
/// loops (a scalar `expf` per element is a measured 10× slowdown here), so the loop vectoriser
/// can turn these into AVX2 code. Cephes-style range reduction and polynomials, as internal
/// `alwaysinline` functions defined on first use (`IRModule.function`); accuracy is tested
/// against libm in `MathLibraryTests` over dense sweeps and edge values (±0, denormals, ±inf,
/// NaN, the overflow and underflow thresholds).
enum MathLibrary {
    /// The routines by name: each builds its body from its one argument. A name with a lane
    /// suffix (`kiln_exp_v16`) is the same routine on `<16 x float>`, lane for lane the same
    /// operations as the scalar one (so the same results), for kernels the schedule vectorised.
    private static let routines: [String: (argument: IRType, body: (FunctionBuilder, IRValue) -> IRValue)] = [
        "kiln_exp": (.f32, MathLibrary.exp), "kiln_log": (.f32, MathLibrary.log), "kiln_tanh": (.f32, MathLibrary.tanh),
        "kiln_sigmoid": (.f32, MathLibrary.sigmoid), "kiln_expm1": (.f32, MathLibrary.expm1), "kiln_log1p": (.f32, MathLibrary.log1p),
        "kiln_mix": (.i64, MathLibrary.mix),
    ]

    /// The routine's name for values of `type`: `base` for f32, `base_vN` for `<N x float>`.
    static func name(_ base: String, for type: IRType) -> String { type.lanes.map { "\(base)_v\($0)" } ?? base }

    /// Defines `function` in `module` if `name` is one of the library's routines (or one's
    /// vector form).
    static func define(_ name: String, _ function: LLVMValueRef, in module: IRModule) {
        var base = name, argument: IRType? = nil
        if let cut = name.range(of: "_v", options: .backwards), let lanes = Int(name[cut.upperBound...]), lanes > 1 {
            base = String(name[..<cut.lowerBound])
            argument = .vector(lanes)
        }
        guard let routine = routines[base], argument == nil || routine.argument == .f32 else { return }
        LLVMSetLinkage(function, LLVMInternalLinkage)
        module.addAttribute("alwaysinline", to: function)
        let f = FunctionBuilder(module: module, function: function)
        f.ret(routine.body(f, f.parameter(0, argument ?? routine.argument, name: "x")))
        f.finish()
    }

    /// Constants and intrinsics for the type a routine computes in (f32 or a vector of it).
    private struct Form {
        let f: FunctionBuilder
        let type: IRType
        init(_ f: FunctionBuilder, _ x: IRValue) { (self.f, self.type) = (f, x.type) }
        var ints: IRType { type.lanes.map { .ints($0) } ?? .i32 }
        /// The float constant `v` in this form.
        func c(_ v: Float) -> IRValue { type.lanes.map { f.splat(.f32(v), lanes: $0) } ?? .f32(v) }
        /// The i32 constant `v` in this form's integer lanes.
        func i(_ v: Int32) -> IRValue { type.lanes.map { f.splat(.i32(v), lanes: $0) } ?? .i32(v) }
        /// A float intrinsic (`llvm.fabs`) or library routine (`kiln_exp`) on this form.
        func intrinsic(_ base: String, _ args: [IRValue]) -> IRValue { f.call(base + "." + type.intrinsicSuffix, type, args) }
        func routine(_ base: String, _ x: IRValue) -> IRValue { f.call(MathLibrary.name(base, for: type), type, [x]) }
        func fadd(_ a: IRValue, _ b: IRValue) -> IRValue { f.binary(LLVMFAdd, a, b) }
        func fsub(_ a: IRValue, _ b: IRValue) -> IRValue { f.binary(LLVMFSub, a, b) }
        func fmul(_ a: IRValue, _ b: IRValue) -> IRValue { f.binary(LLVMFMul, a, b) }
        func fdiv(_ a: IRValue, _ b: IRValue) -> IRValue { f.binary(LLVMFDiv, a, b) }
        func fabs(_ x: IRValue) -> IRValue { intrinsic("llvm.fabs", [x]) }
        func compare(_ p: String, _ a: IRValue, _ b: IRValue) -> IRValue { f.compare(p, a, b) }
        func select(_ c: IRValue, _ a: IRValue, _ b: IRValue) -> IRValue { f.select(c, a, b) }

        /// ((c₀·x + c₁)·x + c₂)·x + … in that order of operations.
        func horner(_ x: IRValue, _ coefficients: [Float]) -> IRValue {
            var p = fmul(x, c(coefficients[0]))
            for (i, k) in coefficients.dropFirst().enumerated() {
                if i > 0 { p = fmul(p, x) }
                p = fadd(p, c(k))
            }
            return p
        }
    }

    static func exp(_ f: FunctionBuilder, _ x: IRValue) -> IRValue {
        let m = Form(f, x)
        let lo = m.intrinsic("llvm.maxnum", [x, m.c(-105)])
        let c = m.intrinsic("llvm.minnum", [lo, m.c(88.72283935546875)])
        let n = m.intrinsic("llvm.floor", [m.fadd(m.fmul(c, m.c(1.44269504088896341)), m.c(0.5))])
        let r = m.fsub(m.fsub(c, m.fmul(n, m.c(0.693359375))), m.fmul(n, m.c(-2.12194440e-4)))
        let p9 = m.horner(r, [1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2, 1.6666665459E-1, 0.5])
        let p12 = m.fadd(m.fadd(m.fmul(p9, m.fmul(r, r)), r), m.c(1))
        // 2^n as two factors 2^h·2^(n−h), each a normal float: n spans [−152, 128], so results
        // reach FLT_MAX without overflowing early and underflow gradually through the denormals.
        let ni = f.cast(LLVMFPToSI, n, to: m.ints)
        let h = f.binary(LLVMAShr, ni, m.i(1))
        let l = f.binary(LLVMSub, ni, h)
        func power(_ e: IRValue) -> IRValue {
            f.cast(LLVMBitCast, f.binary(LLVMShl, f.binary(LLVMAdd, e, m.i(127)), m.i(23)), to: m.type)
        }
        let (sh, sl) = (power(h), power(l))
        let y = m.fmul(m.fmul(p12, sh), sl)
        let over = f.compare("ogt", x, m.c(88.72283935546875))
        let yo = f.select(over, m.c(.infinity), y)
        return f.select(f.compare("uno", x, m.c(0)), x, yo)
    }

    static func log(_ f: FunctionBuilder, _ x: IRValue) -> IRValue {
        let m = Form(f, x)
        // Denormals are scaled by 2^23 first (their exponent field is 0).
        let den = f.compare("olt", x, m.c(Float.leastNormalMagnitude))
        let xs = f.select(den, m.fmul(x, m.c(8_388_608)), x)
        let bits = f.cast(LLVMBitCast, xs, to: m.ints)
        let en = f.binary(LLVMSub, f.binary(LLVMAnd, f.binary(LLVMLShr, bits, m.i(23)), m.i(255)), m.i(126))
        let e0 = f.select(den, f.binary(LLVMSub, en, m.i(23)), en)
        let mo = f.binary(LLVMOr, f.binary(LLVMAnd, bits, m.i(8_388_607)), m.i(1_056_964_608))
        let m0 = f.cast(LLVMBitCast, mo, to: m.type)
        let small = f.compare("olt", m0, m.c(0.707106781186547524))
        let e = f.select(small, f.binary(LLVMSub, e0, m.i(1)), e0)
        let mant = m.fsub(f.select(small, m.fadd(m0, m0), m0), m.c(1))
        let z = m.fmul(mant, mant)
        let q15 = m.horner(mant, [7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1,
                               -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1])
        let y0 = m.fmul(m.fmul(mant, z), q15)
        let ef = f.cast(LLVMSIToFP, e, to: m.type)
        let y2 = m.fadd(y0, m.fmul(ef, m.c(-2.12194440e-4)))
        let y4 = m.fadd(mant, m.fsub(y2, m.fmul(z, m.c(0.5))))
        let y = m.fadd(y4, m.fmul(ef, m.c(0.693359375)))
        let a = f.select(f.compare("oeq", x, m.c(0)), m.c(-.infinity), y)
        let b = f.select(f.compare("olt", x, m.c(0)), m.c(.nan), a)
        let c = f.select(f.compare("oeq", x, m.c(.infinity)), x, b)
        return f.select(f.compare("uno", x, m.c(0)), x, c)
    }

    static func tanh(_ f: FunctionBuilder, _ x: IRValue) -> IRValue {
        let m = Form(f, x)
        let ax = m.fabs(x)
        let z = m.fmul(x, x)
        let p7 = m.horner(z, [-5.70498872745E-3, 2.06390887954E-2, -5.37397155531E-2, 1.33314422036E-1, -3.33332819422E-1])
        let small = m.fadd(m.fmul(m.fmul(p7, z), x), x)
        let e = m.routine("kiln_exp", m.fmul(ax, m.c(2)))
        let big = m.fsub(m.c(1), m.fdiv(m.c(2), m.fadd(e, m.c(1))))
        let signed = m.intrinsic("llvm.copysign", [big, x])
        return f.select(f.compare("olt", ax, m.c(0.625)), small, signed)
    }

    /// 1/(1 + e^−x) for x ≥ 0, e^x/(1 + e^x) below: never exponentiates a large positive number.
    static func sigmoid(_ f: FunctionBuilder, _ x: IRValue) -> IRValue {
        let m = Form(f, x)
        let e = m.routine("kiln_exp", f.fneg(m.fabs(x)))
        let d = m.fadd(e, m.c(1))
        let (pos, neg) = (m.fdiv(m.c(1), d), m.fdiv(e, d))
        return f.select(f.compare("oge", x, m.c(0)), pos, neg)
    }

    /// e^x − 1 without cancellation near 0: Kahan's (u − 1)·x / log u with u = e^x.
    static func expm1(_ f: FunctionBuilder, _ x: IRValue) -> IRValue {
        let m = Form(f, x)
        let u = m.routine("kiln_exp", x)
        let um1 = m.fsub(u, m.c(1))
        let lu = m.routine("kiln_log", u)
        let k = m.fmul(um1, m.fdiv(x, lu))
        let r1 = f.select(f.compare("olt", m.fabs(x), m.c(0.5)), k, um1)
        return f.select(f.compare("oeq", u, m.c(1)), x, r1)
    }

    /// log(1 + x) without cancellation near 0: log(u)·x / (u − 1) with u = 1 + x.
    static func log1p(_ f: FunctionBuilder, _ x: IRValue) -> IRValue {
        let m = Form(f, x)
        let u = m.fadd(x, m.c(1))
        let lu = m.routine("kiln_log", u)
        let k = m.fmul(lu, m.fdiv(x, m.fsub(u, m.c(1))))
        let r1 = f.select(f.compare("oeq", u, m.c(.infinity)), lu, k)
        return f.select(f.compare("oeq", u, m.c(1)), x, r1)
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
