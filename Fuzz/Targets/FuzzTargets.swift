import Foundation
import KilnData
import KilnIR
import KilnONNX
import KilnRuntime

/// libFuzzer entry point for Kiln's readers, built only by `make fuzz` (`swiftc -sanitize=fuzzer`
/// provides `main`). `KILN_FUZZ_TARGET` picks the reader: parser, npy, npz, safetensors, idx or
/// onnx (the importer, with a structural mutator: `ONNXMutator`).
/// A reader may reject its input with a `Diagnostic`; anything else — a trap, a crash, a leak
/// or a memory error AddressSanitizer sees — is a finding.
private let target = ProcessInfo.processInfo.environment["KILN_FUZZ_TARGET"] ?? "parser"

@_cdecl("LLVMFuzzerTestOneInput")
public func kilnFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    switch target {
    case "parser":
        let text = String(decoding: bytes, as: UTF8.self)
        if let graph = try? Parser.parse(text, file: "fuzz.kiln") {
            // What parses must verify, type-check or fail cleanly, and print back.
            if let typed = try? inferTypes(graph) { _ = typed.text }
        }
        let (partial, _) = Parser.parseReportingAll(text, file: "fuzz.kiln")
        _ = typeErrors(partial)
    case "npy":
        _ = try? NumPyFormat.decode(bytes, name: "fuzz.npy")
    case "npz":
        _ = try? NumPyFormat.decodeArchive(bytes, name: "fuzz.npz")
    case "safetensors":
        _ = try? SafetensorsFormat.decode(bytes, name: "fuzz.safetensors")
    case "idx":
        _ = try? IDXReader.parse(bytes, name: "fuzz.idx")
    case "onnx":
        // What imports must verify and type-check, as `kiln import` requires before writing;
        // a graph that imports and then fails here is a finding too.
        if let result = try? ONNXImporter.importModel(bytes: bytes, source: "fuzz.onnx", evaluator: InterpreterEvaluator()) {
            do { _ = try inferTypes(result.graph).text } catch {
                fputs("imported graph fails to check: \(error)\n", stderr)
                abort()
            }
        }
    default:
        fputs("unknown KILN_FUZZ_TARGET '\(target)' (parser, npy, npz, safetensors, idx, onnx)\n", stderr)
        exit(2)
    }
    return 0
}

@_silgen_name("LLVMFuzzerMutate")
func LLVMFuzzerMutate(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int) -> Int

/// libFuzzer's hook for custom mutations. For the onnx target, half the mutations decode the
/// input as a model and edit its structure (`ONNXMutator`); byte-level mutation alone rarely
/// yields a model protobuf still decodes. Every other target keeps libFuzzer's own mutations.
@_cdecl("LLVMFuzzerCustomMutator")
public func kilnFuzzMutate(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    guard target == "onnx", let data, seed % 2 == 0 else { return LLVMFuzzerMutate(data, size, maxSize) }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let mutated = ONNXMutator.mutate(bytes, seed: UInt64(seed)), mutated.count <= maxSize else {
        return LLVMFuzzerMutate(data, size, maxSize)
    }
    mutated.withUnsafeBufferPointer { buffer in
        if let base = buffer.baseAddress { data.update(from: base, count: buffer.count) }
    }
    return mutated.count
}
