import Foundation
import KilnIR

/// The most memory a run may need, checked before anything is allocated: a graph that cannot
/// fit is a located error naming its largest tensors, instead of an allocation failure (or the
/// kernel's OOM killer) halfway through initialising parameters.
///
/// The estimate is a lower bound of what a run holds at once: every param and state tensor,
/// every input, and the intermediates — the arena when the graph has a memory plan, otherwise
/// the largest single intermediate. Training keeps roughly two copies of the state; callers
/// pass `stateCopies: 2` for that.
public struct MemoryBudget: Sendable, Equatable, CustomStringConvertible {
    /// The budget in bytes.
    public var bytes: Int

    public init(bytes: Int) { self.bytes = bytes }

    /// The environment variable that overrides the default budget (same syntax as `parse`).
    public static let environmentVariable = "KILN_MEMORY_BUDGET"

    /// Three quarters of physical memory, or `KILN_MEMORY_BUDGET` when set.
    public static func standard() throws -> MemoryBudget {
        if let text = ProcessInfo.processInfo.environment[environmentVariable], !text.isEmpty {
            do { return try parse(text) } catch let d as Diagnostic {
                throw Diagnostic("\(environmentVariable): \(d.message)")
            }
        }
        let physical = ProcessInfo.processInfo.physicalMemory
        let bytes = physical >= UInt64(Int.max) ? Int.max : Int(physical) / 4 * 3
        return MemoryBudget(bytes: bytes)
    }

    /// Parses a size: bytes (`1048576`) or a number with a binary suffix `K`, `M`, `G`, `T`
    /// (`512M`, `1.5G`). Must be positive and below 2^62 bytes.
    public static func parse(_ text: String) throws -> MemoryBudget {
        let units: [Character: Double] = ["K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024, "T": 1024 * 1024 * 1024 * 1024]
        // Accepts 2G, 2GB, 2GiB (all binary); a bare number is bytes.
        var digits = text.trimmingCharacters(in: .whitespaces).uppercased()
        var scale = 1.0
        if digits.hasSuffix("B") { digits.removeLast() }
        if digits.hasSuffix("I") { digits.removeLast() }
        if let last = digits.last, let unit = units[last] {
            scale = unit
            digits.removeLast()
        }
        guard let value = Double(digits), value.isFinite, value > 0 else {
            throw Diagnostic("memory budget '\(text)' is not a positive size (e.g. 2G, 512M, 1048576)")
        }
        let bytes = value * scale
        guard bytes >= 1, bytes < 4.6e18 else {
            throw Diagnostic("memory budget '\(text)' must be between 1 byte and 4 EiB")
        }
        return MemoryBudget(bytes: Int(bytes))
    }

    public var description: String { formatBytes(bytes) }

    /// One tensor the estimate counts.
    public struct Item: Sendable, Equatable {
        public var name: String
        public var bytes: Int
        public var location: SourceLocation?
    }

    /// The tensors a run of `graph` holds at once (see the type's documentation), largest first.
    public static func items(of graph: Graph, stateCopies: Int = 1) -> [Item] {
        var items: [Item] = []
        for param in graph.params {
            items.append(Item(name: "\(param.role == .state ? "state" : "param") '\(param.name)' \(param.type)",
                              bytes: saturatingMultiply(param.type.byteCount, stateCopies), location: param.location))
        }
        for input in graph.inputs {
            items.append(Item(name: "input '\(input.name)' \(input.type)", bytes: input.type.byteCount, location: input.location))
        }
        if let plan = graph.memoryPlan {
            items.append(Item(name: "the arena of intermediates", bytes: plan.arenaSize, location: nil))
        } else {
            var largest: Item?
            for node in graph.nodes {
                for (name, type) in node.resultTypes {
                    guard let type, type.byteCount > (largest?.bytes ?? 0) else { continue }
                    largest = Item(name: "'\(name)' \(type) (\(node.op.name))", bytes: type.byteCount, location: node.location)
                }
            }
            if let largest { items.append(largest) }
        }
        return items.sorted { $0.bytes > $1.bytes }
    }

    /// Throws a diagnostic, located at the largest tensor's declaration, when `graph` needs more
    /// than the budget; it names the three largest tensors.
    public func check(_ graph: Graph, stateCopies: Int = 1) throws {
        let items = Self.items(of: graph, stateCopies: stateCopies)
        let total = items.reduce(0) { saturatingAdd($0, $1.bytes) }
        guard total > bytes else { return }
        let largest = items.prefix(3).map { "\($0.name): \(formatBytes($0.bytes))" }.joined(separator: "; ")
        throw Diagnostic("graph '\(graph.name)' needs at least \(formatBytes(total)), more than the memory budget of \(formatBytes(bytes)) (largest: \(largest)); raise it with --memory-budget or \(Self.environmentVariable)",
                         at: items.first?.location)
    }
}

private func saturatingAdd(_ a: Int, _ b: Int) -> Int {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? Int.max : sum
}

private func saturatingMultiply(_ a: Int, _ b: Int) -> Int {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? Int.max : product
}
