import Runtime

/// Finds the Swift line that used an operator (`a + b`), which the operator itself cannot
/// know: operator functions take exactly their operands, so no `#line` default can reach
/// them. Only called when an operator's op fails, so successful graphs pay nothing.
///
/// It symbolicates a backtrace (the toolchain's `Runtime` module) and returns the first frame
/// after the DSL's own operator plumbing. That needs debug information for the caller's code;
/// without it (a stripped release build) there is no line and `ModelBuilder` falls back to
/// reporting the error at the next DSL call, saying so.
enum OperatorSite {
    /// Files of this module that sit between an operator and its caller.
    private static let plumbing = ["ValueOps.swift", "ModelBuilder.swift", "OperatorSite.swift"]

    /// The operator's caller as `#fileID` would spell it (`Module/File.swift`) and its line.
    static func caller() -> (file: String, line: Int)? {
        guard let backtrace = try? Backtrace.capture(limit: 64), let symbolicated = backtrace.symbolicated() else { return nil }
        var inPlumbing = false
        for frame in symbolicated.frames {
            let location = frame.symbol?.sourceLocation
            if let location, isPlumbing(location.path) {
                inPlumbing = true
                continue
            }
            // Frames before the plumbing are the backtracer's own; the first one after it is
            // the caller, which must have a line — taking a later frame would blame its caller.
            guard inPlumbing else { continue }
            guard let location, location.line > 0 else { return nil }
            return (fileID(location.path), location.line)
        }
        return nil
    }

    private static func isPlumbing(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        guard let file = parts.last, parts.count >= 2, parts[parts.count - 2] == "KilnNN" else { return false }
        return plumbing.contains(String(file))
    }

    /// `…/Sources/Module/Sub/File.swift` → `Module/File.swift`, as `#fileID` spells it for a
    /// SwiftPM target; otherwise the enclosing directory and the file.
    static func fileID(_ path: String) -> String {
        let parts = path.split(separator: "/").map(String.init)
        guard let file = parts.last else { return path }
        if let root = parts.lastIndex(where: { $0 == "Sources" || $0 == "Tests" }), root + 1 < parts.count - 1 {
            return parts[root + 1] + "/" + file
        }
        return parts.count >= 2 ? parts[parts.count - 2] + "/" + file : file
    }
}
