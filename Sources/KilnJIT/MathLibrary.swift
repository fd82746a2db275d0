/// Vectorisable float math emitted as LLVM IR: no libm calls inside kernel loops (a scalar
/// `expf` per element is a measured 10× slowdown here), so the loop vectoriser can turn these
/// into AVX2 code. Cephes-style range reduction and polynomials; accuracy is tested against
/// libm in `MathLibraryTests` over dense sweeps and edge values (±0, denormals, ±inf, NaN,
/// the overflow and underflow thresholds).
enum MathLibrary {
    /// A float constant as LLVM IR spells it: the double with the same value, in hex.
    static func f(_ value: Float) -> String {
        "0x" + String(Double(value).bitPattern, radix: 16, uppercase: true)
    }

    static let ir = """
    define internal float @kiln_exp(float %x) alwaysinline {
      %lo = call float @llvm.maxnum.f32(float %x, float \(f(-105)))
      %c = call float @llvm.minnum.f32(float %lo, float \(f(88.72283935546875)))
      %t = fmul float %c, \(f(1.44269504088896341))
      %t2 = fadd float %t, 5.000000e-01
      %n = call float @llvm.floor.f32(float %t2)
      %r1 = fmul float %n, \(f(0.693359375))
      %r2 = fsub float %c, %r1
      %r3 = fmul float %n, \(f(-2.12194440e-4))
      %r = fsub float %r2, %r3
      %p0 = fmul float %r, \(f(1.9875691500E-4))
      %p1 = fadd float %p0, \(f(1.3981999507E-3))
      %p2 = fmul float %p1, %r
      %p3 = fadd float %p2, \(f(8.3334519073E-3))
      %p4 = fmul float %p3, %r
      %p5 = fadd float %p4, \(f(4.1665795894E-2))
      %p6 = fmul float %p5, %r
      %p7 = fadd float %p6, \(f(1.6666665459E-1))
      %p8 = fmul float %p7, %r
      %p9 = fadd float %p8, 0x3FE0000000000000
      %rr = fmul float %r, %r
      %p10 = fmul float %p9, %rr
      %p11 = fadd float %p10, %r
      %p12 = fadd float %p11, 1.000000e+00
      ; 2^n as two factors 2^h·2^(n−h), each a normal float: n spans [−152, 128], so results
      ; reach FLT_MAX without overflowing early and underflow gradually through the denormals.
      %ni = fptosi float %n to i32
      %h = ashr i32 %ni, 1
      %l = sub i32 %ni, %h
      %eh = add i32 %h, 127
      %el = add i32 %l, 127
      %bh = shl i32 %eh, 23
      %bl = shl i32 %el, 23
      %sh = bitcast i32 %bh to float
      %sl = bitcast i32 %bl to float
      %y1 = fmul float %p12, %sh
      %y = fmul float %y1, %sl
      %over = fcmp ogt float %x, \(f(88.72283935546875))
      %yo = select i1 %over, float 0x7FF0000000000000, float %y
      %isnan = fcmp uno float %x, 0.000000e+00
      %res = select i1 %isnan, float %x, float %yo
      ret float %res
    }

    define internal float @kiln_log(float %x) alwaysinline {
      ; Denormals are scaled by 2^23 first (their exponent field is 0).
      %den = fcmp olt float %x, 0x3810000000000000
      %xup = fmul float %x, 8.388608e+06
      %xs = select i1 %den, float %xup, float %x
      %bits = bitcast float %xs to i32
      %eb = lshr i32 %bits, 23
      %ee = and i32 %eb, 255
      %en = sub i32 %ee, 126
      %ed = sub i32 %en, 23
      %e0 = select i1 %den, i32 %ed, i32 %en
      %mb = and i32 %bits, 8388607
      %mo = or i32 %mb, 1056964608
      %m0 = bitcast i32 %mo to float
      %small = fcmp olt float %m0, \(f(0.707106781186547524))
      %e1 = sub i32 %e0, 1
      %e = select i1 %small, i32 %e1, i32 %e0
      %md = fadd float %m0, %m0
      %ma = select i1 %small, float %md, float %m0
      %m = fsub float %ma, 1.000000e+00
      %z = fmul float %m, %m
      %q0 = fmul float %m, \(f(7.0376836292E-2))
      %q1 = fadd float %q0, \(f(-1.1514610310E-1))
      %q2 = fmul float %q1, %m
      %q3 = fadd float %q2, \(f(1.1676998740E-1))
      %q4 = fmul float %q3, %m
      %q5 = fadd float %q4, \(f(-1.2420140846E-1))
      %q6 = fmul float %q5, %m
      %q7 = fadd float %q6, \(f(1.4249322787E-1))
      %q8 = fmul float %q7, %m
      %q9 = fadd float %q8, \(f(-1.6668057665E-1))
      %q10 = fmul float %q9, %m
      %q11 = fadd float %q10, \(f(2.0000714765E-1))
      %q12 = fmul float %q11, %m
      %q13 = fadd float %q12, \(f(-2.4999993993E-1))
      %q14 = fmul float %q13, %m
      %q15 = fadd float %q14, \(f(3.3333331174E-1))
      %mz = fmul float %m, %z
      %y0 = fmul float %mz, %q15
      %ef = sitofp i32 %e to float
      %y1 = fmul float %ef, \(f(-2.12194440e-4))
      %y2 = fadd float %y0, %y1
      %hz = fmul float %z, 5.000000e-01
      %y3 = fsub float %y2, %hz
      %y4 = fadd float %m, %y3
      %y5 = fmul float %ef, \(f(0.693359375))
      %y = fadd float %y4, %y5
      %iszero = fcmp oeq float %x, 0.000000e+00
      %isneg = fcmp olt float %x, 0.000000e+00
      %isinf = fcmp oeq float %x, 0x7FF0000000000000
      %isnan = fcmp uno float %x, 0.000000e+00
      %a = select i1 %iszero, float 0xFFF0000000000000, float %y
      %b = select i1 %isneg, float 0x7FF8000000000000, float %a
      %c = select i1 %isinf, float %x, float %b
      %d = select i1 %isnan, float %x, float %c
      ret float %d
    }

    define internal float @kiln_tanh(float %x) alwaysinline {
      %ax = call float @llvm.fabs.f32(float %x)
      %z = fmul float %x, %x
      %p0 = fmul float %z, \(f(-5.70498872745E-3))
      %p1 = fadd float %p0, \(f(2.06390887954E-2))
      %p2 = fmul float %p1, %z
      %p3 = fadd float %p2, \(f(-5.37397155531E-2))
      %p4 = fmul float %p3, %z
      %p5 = fadd float %p4, \(f(1.33314422036E-1))
      %p6 = fmul float %p5, %z
      %p7 = fadd float %p6, \(f(-3.33332819422E-1))
      %p8 = fmul float %p7, %z
      %p9 = fmul float %p8, %x
      %small = fadd float %p9, %x
      %two = fmul float %ax, 2.000000e+00
      %e = call float @kiln_exp(float %two)
      %e1 = fadd float %e, 1.000000e+00
      %q = fdiv float 2.000000e+00, %e1
      %big = fsub float 1.000000e+00, %q
      %signed = call float @llvm.copysign.f32(float %big, float %x)
      %issmall = fcmp olt float %ax, 6.250000e-01
      %r = select i1 %issmall, float %small, float %signed
      ret float %r
    }

    ; 1/(1 + e^−x) for x ≥ 0, e^x/(1 + e^x) below: never exponentiates a large positive number.
    define internal float @kiln_sigmoid(float %x) alwaysinline {
      %ax = call float @llvm.fabs.f32(float %x)
      %n = fneg float %ax
      %e = call float @kiln_exp(float %n)
      %d = fadd float %e, 1.000000e+00
      %pos = fdiv float 1.000000e+00, %d
      %neg = fdiv float %e, %d
      %nonneg = fcmp oge float %x, 0.000000e+00
      %r = select i1 %nonneg, float %pos, float %neg
      ret float %r
    }

    ; e^x − 1 without cancellation near 0: Kahan's (u − 1)·x / log u with u = e^x.
    define internal float @kiln_expm1(float %x) alwaysinline {
      %u = call float @kiln_exp(float %x)
      %um1 = fsub float %u, 1.000000e+00
      %lu = call float @kiln_log(float %u)
      %ratio = fdiv float %x, %lu
      %k = fmul float %um1, %ratio
      %ax = call float @llvm.fabs.f32(float %x)
      %small = fcmp olt float %ax, 5.000000e-01
      %r1 = select i1 %small, float %k, float %um1
      %isone = fcmp oeq float %u, 1.000000e+00
      %r = select i1 %isone, float %x, float %r1
      ret float %r
    }

    ; log(1 + x) without cancellation near 0: log(u)·x / (u − 1) with u = 1 + x.
    define internal float @kiln_log1p(float %x) alwaysinline {
      %u = fadd float %x, 1.000000e+00
      %lu = call float @kiln_log(float %u)
      %um1 = fsub float %u, 1.000000e+00
      %ratio = fdiv float %x, %um1
      %k = fmul float %lu, %ratio
      %isone = fcmp oeq float %u, 1.000000e+00
      %isinf = fcmp oeq float %u, 0x7FF0000000000000
      %r1 = select i1 %isinf, float %lu, float %k
      %r = select i1 %isone, float %x, float %r1
      ret float %r
    }

    ; The splitmix64 finaliser (KilnRandom.mix).
    define internal i64 @kiln_mix(i64 %v) alwaysinline {
      %z0 = add i64 %v, \(Int64(bitPattern: 0x9E37_79B9_7F4A_7C15))
      %s1 = lshr i64 %z0, 30
      %x1 = xor i64 %z0, %s1
      %z1 = mul i64 %x1, \(Int64(bitPattern: 0xBF58_476D_1CE4_E5B9))
      %s2 = lshr i64 %z1, 27
      %x2 = xor i64 %z1, %s2
      %z2 = mul i64 %x2, \(Int64(bitPattern: 0x94D0_49BB_1331_11EB))
      %s3 = lshr i64 %z2, 31
      %r = xor i64 %z2, %s3
      ret i64 %r
    }

    declare float @llvm.maxnum.f32(float, float)
    declare float @llvm.fma.f32(float, float, float)
    declare <4 x float> @llvm.fma.v4f32(<4 x float>, <4 x float>, <4 x float>)
    declare <8 x float> @llvm.fma.v8f32(<8 x float>, <8 x float>, <8 x float>)
    declare <16 x float> @llvm.fma.v16f32(<16 x float>, <16 x float>, <16 x float>)
    declare <4 x float> @llvm.fabs.v4f32(<4 x float>)
    declare <8 x float> @llvm.fabs.v8f32(<8 x float>)
    declare <16 x float> @llvm.fabs.v16f32(<16 x float>)
    declare <4 x float> @llvm.sqrt.v4f32(<4 x float>)
    declare <8 x float> @llvm.sqrt.v8f32(<8 x float>)
    declare <16 x float> @llvm.sqrt.v16f32(<16 x float>)
    declare float @llvm.minnum.f32(float, float)
    declare float @llvm.floor.f32(float)
    declare float @llvm.fabs.f32(float)
    declare float @llvm.sqrt.f32(float)
    declare float @llvm.pow.f32(float, float)
    declare float @llvm.copysign.f32(float, float)
    declare float @llvm.cos.f32(float)
    declare float @llvm.log.f32(float)
    declare i32 @llvm.fptosi.sat.i32.f32(float)

    """
}
