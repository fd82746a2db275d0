import Foundation

/// Renders Graphviz DOT text to SVG with the `dot` program (Debian's `graphviz` package).
/// Kiln does not link Graphviz: it is optional, and a report without it says how to get it.
public enum Graphviz {
    /// What rendering gave: the SVG, or why there is none (for the page).
    public enum Outcome {
        case svg(String)
        case unavailable(String)
    }

    /// The `dot` executable on `PATH` (or `KILN_DOT`), if any.
    public static var executable: String? {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["KILN_DOT"] { return FileManager.default.isExecutableFile(atPath: path) ? path : nil }
        let directories = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        return directories.map { "\($0)/dot" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// How to get `dot` on Debian, for a page or a message.
    public static let installHint = "install Graphviz to see the graph: sudo apt-get install graphviz (or run make deps)"

    /// Runs `dot -Tsvg` on `text` (`dot`: the program, default the one on `PATH`); a graph
    /// too big to lay out in `timeout` seconds is reported, not waited for (a training graph
    /// has hundreds of nodes and layout grows faster than linearly).
    public static func svg(_ text: String, dot: String? = Graphviz.executable, timeout: Double = 120) -> Outcome {
        guard let dot else { return .unavailable("Graphviz's dot was not found: \(installHint)") }
        // dot writes its SVG and messages to files, so nothing here has to drain pipes while
        // writing the input (a big graph's SVG outgrows a pipe's buffer before dot has read it all).
        let scratch = NSTemporaryDirectory() + "kiln-dot-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let (source, svgPath, logPath) = (scratch + "/graph.dot", scratch + "/graph.svg", scratch + "/dot.log")
        let process = Process()
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: source))
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: dot)
            process.arguments = ["-Tsvg", "-o", svgPath, source]
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            try process.run()
        } catch {
            return .unavailable("could not run \(dot): \(error)")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return .unavailable("dot took more than \(Int(timeout)) s to lay the graph out; render graph.dot yourself (dot -Tsvg graph.dot)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0, let data = FileManager.default.contents(atPath: svgPath),
              let text = String(data: data, encoding: .utf8), text.contains("<svg") else {
            let log = FileManager.default.contents(atPath: logPath).flatMap { String(data: $0, encoding: .utf8) } ?? ""
            return .unavailable("dot failed (status \(process.terminationStatus)): \(log.trimmingCharacters(in: .whitespacesAndNewlines).prefix(300))")
        }
        return .svg(text)
    }
}
