import Foundation
import Testing

/// The module graph Package.swift declares (Docs/ARCHITECTURE.md draws it): tensors below the
/// runtime, so data sets link no OpenBLAS; an interpreter that needs no pass; the checking tools
/// above both backends. Read from Package.swift's target lines, closed over dependencies.
struct ModuleLayeringTests {
    static func declaredDependencies() throws -> [String: Set<String>] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let target = try Regex(#"\.(?:target|executableTarget)\(\s*name: "(\w+)",\s*dependencies: \[([^\]]*)\]"#)
        let quoted = try Regex(#""(\w+)""#)
        // Targets without a dependency list (KilnSupport, KilnIR) are leaves and are not listed.
        var graph: [String: Set<String>] = [:]
        for match in manifest.matches(of: target) {
            guard let name = match.output[1].substring, let list = match.output[2].substring else { continue }
            // `.product(name: "X", package: "y")` names a package product, not a target of ours.
            let plain = list.replacing(try Regex(#"\.product\([^)]*\)"#), with: "")
            graph[String(name)] = Set(plain.matches(of: quoted).compactMap { $0.output[1].substring.map(String.init) })
        }
        return graph
    }

    static func closure(_ name: String, _ graph: [String: Set<String>]) -> Set<String> {
        var seen: Set<String> = [], stack = [name]
        while let next = stack.popLast() {
            for dependency in graph[next] ?? [] where seen.insert(dependency).inserted { stack.append(dependency) }
        }
        return seen
    }

    @Test("the runtime builds on the IR, tensors and BLAS only; data sets, ONNX and tensors link no OpenBLAS")
    func layering() throws {
        let graph = try Self.declaredDependencies()
        #expect(graph.count >= 13, "read \(graph.count) targets from Package.swift")
        #expect(graph["KilnRuntime"] == ["KilnIR", "KilnTensor", "KilnSupport", "CBLAS"])
        #expect(graph["KilnTensor"] == ["KilnIR", "KilnSupport", "CZlib"])
        // ONNX folds on the evaluator its caller passes, so it links no backend either.
        for light in ["KilnTensor", "KilnData", "KilnONNX"] {
            let below = Self.closure(light, graph)
            #expect(below.isDisjoint(with: ["KilnRuntime", "CBLAS", "KilnPasses", "KilnJIT", "CLLVM"]), "\(light) reaches \(below.sorted())")
        }
        #expect(!Self.closure("KilnRuntime", graph).contains("KilnPasses"))
        // The checking tools sit above both backends, and no library below them imports them.
        #expect(graph["KilnCheck"]?.isSuperset(of: ["KilnRuntime", "KilnJIT", "KilnPasses"]) == true)
        for (name, _) in graph where !["KilnCheck", "Kiln", "kiln"].contains(name) {
            #expect(!Self.closure(name, graph).contains("KilnCheck"), "\(name) depends on KilnCheck")
        }
    }
}
