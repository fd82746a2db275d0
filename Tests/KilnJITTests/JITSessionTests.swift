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
}
