import Foundation
import KilnData
import KilnIR
import KilnRuntime

/// libFuzzer entry point for Kiln's readers, built only by `make fuzz` (`swiftc -sanitize=fuzzer`
/// provides `main`). `KILN_FUZZ_TARGET` picks the reader: parser, npy, npz, safetensors or idx.
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
    default:
        fputs("unknown KILN_FUZZ_TARGET '\(target)' (parser, npy, npz, safetensors, idx)\n", stderr)
        exit(2)
    }
    return 0
}
