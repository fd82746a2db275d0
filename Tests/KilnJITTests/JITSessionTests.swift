import Foundation
import KilnIR
import KilnJIT
import KilnPasses
import Testing

struct JITSessionTests {
    @Test("IR that LLVM rejects is a diagnostic with the IR written to a file")
    func rejected() throws {
        let session = try JITSession()
        do {
            _ = try session.compile("define void @broken( {", symbols: ["broken"])
            Issue.record("expected an error")
        } catch let d as Diagnostic {
            #expect(d.message.contains("LLVM rejected the generated IR"))
            let path = try #require(d.message.components(separatedBy: "IR written to ").last)
            #expect(FileManager.default.fileExists(atPath: path))
        }
    }

    @Test("the target machine is the host's, with AVX2 and FMA where the CPU has them")
    func host() throws {
        let session = try JITSession()
        #expect(!session.cpuName.isEmpty)
        #if arch(x86_64)
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        if cpuinfo.contains(" avx2") { #expect(session.cpuFeatures.contains("+avx2")) }
        if cpuinfo.contains(" fma") { #expect(session.cpuFeatures.contains("+fma")) }
        #endif
    }

    @Test("elementwise kernels vectorise: the optimised IR uses vectors of 8 or more floats on AVX2")
    func vectorised() throws {
        let graph = try inferTypes(try Parser.parse("graph v {\n input x: f32[4096]\n y = add(mul(tanh(x), 2.0), sigmoid(x))\n output y\n}"))
        let backend = try JITBackend(graph: try Fusion().run(graph), keepOptimizedIR: true)
        #expect(backend.compiledKernels >= 1)
        #if arch(x86_64)
        if try JITSession().cpuFeatures.contains("+avx2") {
            #expect(["<8 x float>", "<16 x float>", "<32 x float>"].contains { backend.optimizedIR.contains($0) })
        }
        #endif
    }
    /// LLVM's unroller runs full unrolling only (`MachineTarget.pipeline`): partial and runtime
    /// unrolling doubled the optimised IR of an LSTM step and its compile time, for no measured gain.
    @Test("the optimiser fully unrolls a constant-trip loop but adds no runtime-unrolled copies of a work-unit loop")
    func unrollsFullyOnly() throws {
        let ir = """
            define void @unroll_units(float* noalias %x, i64 %first, i64 %end) {
            entry:
              %c0 = icmp slt i64 %first, %end
              br i1 %c0, label %loop, label %exit
            loop:
              %i = phi i64 [ %first, %entry ], [ %next, %loop ]
              %p = getelementptr inbounds float, float* %x, i64 %i
              %v = load float, float* %p
              %w = fmul float %v, %v
              %u = fadd float %w, 1.0
              store float %u, float* %p
              %next = add nsw i64 %i, 1
              %c = icmp slt i64 %next, %end
              br i1 %c, label %loop, label %exit, !llvm.loop !0
            exit:
              ret void
            }
            define void @unroll_four(float* noalias %x) {
            entry:
              br label %loop
            loop:
              %i = phi i64 [ 0, %entry ], [ %next, %loop ]
              %p = getelementptr inbounds float, float* %x, i64 %i
              %v = load float, float* %p
              %w = fdiv float %v, 3.0
              store float %w, float* %p
              %next = add nsw i64 %i, 1
              %c = icmp slt i64 %next, 4
              br i1 %c, label %loop, label %exit, !llvm.loop !0
            exit:
              ret void
            }
            !0 = distinct !{!0, !1}
            !1 = !{!"llvm.loop.vectorize.enable", i1 false}
            """
        let compiled = try JITSession().compile(ir, symbols: ["unroll_units", "unroll_four"], keepOptimizedIR: true)
        func body(_ name: String) -> String {
            let text = compiled.optimizedIR
            guard let start = text.range(of: "@\(name)(") else { return "" }
            return String(text[start.lowerBound...].prefix { $0 != "}" })
        }
        // With `loop-unroll<O3>` the work-unit loop became 8 copies and a remainder (9 fmuls).
        #expect(body("unroll_units").components(separatedBy: "fmul").count - 1 == 1, "\(body("unroll_units"))")
        #expect(body("unroll_four").components(separatedBy: "fdiv").count - 1 == 4, "\(body("unroll_four"))")
        #expect(!body("unroll_four").contains("phi"))
    }
}
