import ArgumentParser
import Foundation
import KilnJIT

/// `kiln cache`: where the JIT keeps compiled modules between runs, and clearing it.
struct Cache: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show or clear the on-disk cache of compiled modules (KILN_CACHE_DIR; default ~/.cache/kiln; 'off' disables it).")

    @Flag(help: "Remove every cached object.")
    var clear = false

    func run() throws {
        try reportingErrors {
            let session = try JITSession()
            guard let folder = session.cacheDirectory else {
                print("cache: off (KILN_CACHE_DIR=off)")
                return
            }
            if clear {
                print("cache: removed \(session.clearCache()) objects from \(folder.path)")
                return
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.filter { $0.hasSuffix(".o") } ?? []
            let bytes = names.reduce(0) { total, name in
                let size = (try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path))?[.size] as? NSNumber
                return total + (size?.intValue ?? 0)
            }
            // Step records (`-step.o`: a compiled step's program, kept beside its objects) are
            // counted apart from the machine code.
            let records = names.filter { $0.hasSuffix("-step.o") }.count
            print("cache: \(folder.path): \(names.count - records) objects, \(records) step records, \(bytes / 1024) KiB")
        }
    }
}
