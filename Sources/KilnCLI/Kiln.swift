import ArgumentParser
import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import KilnSupport

@main
struct Kiln: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "A computation-graph compiler with static shapes.",
        subcommands: [Dump.self, Check.self, Dot.self, Run.self, Train.self, Predict.self, Summary.self, Bench.self, Compare.self, Gradcheck.self, Import.self, Export.self,
                      Ops.self, Zoo.self, CompileTime.self, AllReduceBench.self, Cache.self, Compile.self]
    )

    /// OpenBLAS's kernels for this CPU are selected by the library on first use
    /// (`BLAS.selectedCoreType`), so the command needs no re-run with `OPENBLAS_CORETYPE`.
    static func main() {
        ProcessMemory.keepFreedMemory()
        // ArgumentParser exits 64 (EX_USAGE) for a bad option; Kiln's contract is exit 1 for an
        // error and 2 for a usage error, which scripts and the tests rely on.
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandleOutput.standardError.write(fullMessage(for: error) + "\n")
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// The graph file every verb reads.
struct GraphFile: ParsableArguments {
    @Argument(help: "A .kiln graph file (- for standard input).")
    var file: String

    /// The largest `.kiln` file read (64 MiB): graphs are text a person or a generator writes,
    /// and a bound keeps `/dev/zero` or a mistaken multi-gigabyte file from exhausting memory.
    static let maximumBytes = 64 << 20

    /// The file's text: a regular file or standard input, at most `maximumBytes`.
    func text() throws -> String {
        let data: [UInt8]
        if file == "-" || file == "/dev/stdin" {
            data = try readStandardInput(limit: Self.maximumBytes)
        } else {
            data = try AtomicFile.read(file, limit: Self.maximumBytes)
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw Diagnostic("not UTF-8 text: byte 0x\(String(data[Self.firstInvalidUTF8(data)], radix: 16, uppercase: true)) does not start or continue a UTF-8 character (.kiln files are UTF-8)",
                             at: Self.location(ofByte: Self.firstInvalidUTF8(data), in: data, file: file))
        }
        return text
    }

    /// The offset of the first byte that is not valid UTF-8 (`data` is known to be invalid).
    static func firstInvalidUTF8(_ data: [UInt8]) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = data.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .error: return Swift.min(offset, Swift.max(data.count - 1, 0))
            case .emptyInput: return Swift.max(data.count - 1, 0)
            }
        }
    }

    /// Line and column (in bytes, 1-based) of byte `offset`, so the error points into the file.
    static func location(ofByte offset: Int, in data: [UInt8], file: String) -> SourceLocation {
        let before = data[..<offset]
        let line = before.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
        let column = offset - (before.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0) + 1
        return SourceLocation(file: file, line: line, column: column)
    }

    /// Parses, verifies and type-checks the file; a failure is reported and exits 1.
    func load() throws -> Graph {
        let parsed = try Parser.parse(try text(), file: file)
        try Verifier().verify(parsed)
        return try ShapeInference().run(parsed)
    }

    private func readStandardInput(limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw CLIError("cannot read standard input: \(String(cString: strerror(errno)))") }
            if n == 0 { return bytes }
            guard bytes.count + n <= limit else { throw CLIError("standard input is longer than the limit of \(limit) bytes for a graph") }
            bytes += chunk[0..<n]
        }
    }
}

/// A failure reported to the user as one line on standard error, exit code 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = "error: " + message }
}

/// Several diagnostics reported together (`kiln check` lists every independent error).
struct DiagnosticList: Error {
    var diagnostics: [Diagnostic]
}

/// Runs a verb body, turning Kiln's diagnostics into a message and exit code 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as Diagnostic {
        FileHandleOutput.standardError.write("\(error)\n")
        throw ExitCode(1)
    } catch let error as DiagnosticList {
        for d in error.diagnostics { FileHandleOutput.standardError.write("\(d)\n") }
        throw ExitCode(1)
    } catch let error as CLIError {
        FileHandleOutput.standardError.write("\(error)\n")
        throw ExitCode(1)
    } catch let error as TypeError {
        FileHandleOutput.standardError.write("error: \(error.message)\n")
        throw ExitCode(1)
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        // Foundation's errors print as `Error Domain=NSCocoaErrorDomain Code=512 "(null)"`;
        // say which file and why instead.
        FileHandleOutput.standardError.write("error: \(plainMessage(error))\n")
        throw ExitCode(1)
    }
}

/// A one-line message for a Foundation error: the path it concerns and the system's reason.
func plainMessage(_ error: Error) -> String {
    let ns = error as NSError
    let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
    var reason = ns.localizedFailureReason ?? ""
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(truncatingIfNeeded: underlying.code)))
    } else if ns.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(truncatingIfNeeded: ns.code)))
    }
    if reason.isEmpty || reason == "(null)" || reason.contains("NSCocoaErrorDomain") {
        reason = ns.domain == NSCocoaErrorDomain ? cocoaReason(ns.code, path: path) : ns.localizedDescription
    }
    if let path { return "'\(path)': \(reason)" }
    return reason
}

/// A reason for a Cocoa file error that carries no POSIX error: from its code, or for the
/// generic "could not write" by looking at the path (a parent that is a file, or not writable).
private func cocoaReason(_ code: Int, path: String?) -> String {
    switch CocoaError.Code(rawValue: code) {
    case .fileWriteOutOfSpace: return "No space left on device"
    case .fileWriteNoPermission, .fileReadNoPermission: return "Permission denied"
    case .fileNoSuchFile, .fileReadNoSuchFile: return "No such file or directory"
    case .fileWriteVolumeReadOnly: return "Read-only file system"
    case .fileWriteFileExists: return "File exists"
    case .fileWriteInvalidFileName, .fileReadInvalidFileName: return "Invalid file name"
    default: break
    }
    guard let path else { return "the file operation failed (Foundation error \(code))" }
    var ancestor = URL(fileURLWithPath: path).deletingLastPathComponent()
    while ancestor.path != "/" {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
            if !isDirectory.boolValue { return "'\(ancestor.path)' is not a directory" }
            if access(ancestor.path, W_OK) != 0 { return "'\(ancestor.path)' is not writable" }
            break
        }
        ancestor = ancestor.deletingLastPathComponent()
    }
    return "the file operation failed (Foundation error \(code))"
}
