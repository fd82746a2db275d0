import Foundation
import KilnIR

/// What compiling a step produced besides its machine code — the step program, table slots,
/// scratch buffers and failure messages — kept in the on-disk cache beside
/// the objects. A process that compiles a graph some earlier process compiled (a second
/// `kiln run`, a benchmark's new process) then skips lowering, scheduling and building the
/// LLVM module, which is most of a cached compile (an LSTM step: ~45–70 ms → a few ms).
///
/// The record is keyed by what determines those products: the planned graph's text and source
/// locations, the codegen target and policy, the function-name prefix, the LLVM target, every
/// `KILN_*` setting, and the identity of the Kiln build itself (`BuildIdentity`) — a rebuilt
/// Kiln never reads records an older one wrote.
struct StepRecord: Codable {
    struct Failure: Codable {
        var message: String
        var file: String?
        var line: Int
        var column: Int
    }

    var slots: [String: Int]
    /// Scratch buffers as [slot, element count, node, persistent (0 or 1)].
    var scratch: [[Int]]
    var failures: [Failure]
    var compiledKernels: Int
    var sgemmCalls: Int
    var calls: [StepCall]
    var functions: [String]
    /// Cache keys of the module's objects, in the order they are added to the JIT.
    var objectKeys: [String]

    /// Whether the record can drive a backend without indexing outside its own tables: every
    /// slot names a table entry, scratch sizes and extents are non-negative, every call's
    /// function is one the record defines. A record that is not (written by a faulty build,
    /// edited by hand) is a miss, never a crash.
    var isConsistent: Bool {
        let table = slots.count
        guard Set(slots.values).count == table, slots.values.allSatisfy({ (0..<table).contains($0) }) else { return false }
        guard scratch.allSatisfy({ $0.count == 4 && (0..<table).contains($0[0]) && (0...(1 << 40)).contains($0[1]) && $0[2] >= 0 && (0...1).contains($0[3]) }) else { return false }
        let defined = Set(functions)
        return calls.allSatisfy { call in
            call.extent >= 0 && defined.contains(call.function) && call.slots.allSatisfy { (0..<table).contains($0) }
                && (call.offsets.isEmpty || call.offsets.count == call.slots.count) && call.offsets.allSatisfy { (0...(1 << 40)).contains($0) }
                && (call.failureBase.map { (0...failures.count).contains($0) } ?? true)
        }
    }

    var failureList: [(message: String, location: SourceLocation?)] {
        failures.map { f in (f.message, f.file.map { SourceLocation(file: $0, line: f.line, column: f.column) }) }
    }

    static func failures(_ list: [(message: String, location: SourceLocation?)]) -> [Failure] {
        list.map { Failure(message: $0.message, file: $0.location?.file, line: $0.location?.line ?? 0, column: $0.location?.column ?? 0) }
    }

    /// The record's cache key, or nil when this build has no identity to key it by.
    static func key(step: String, prefix: String, machine: MachineTarget) -> String? {
        guard let build = BuildIdentity.current else { return nil }
        let settings = ProcessInfo.processInfo.environment.filter { $0.key.hasPrefix("KILN_") && $0.key != "KILN_CACHE_DIR" }
            .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return ObjectCache.key("kiln step record 2\n\(step)\n# prefix \(prefix) \(machine.triple) \(machine.cpu) \(machine.features) "
                               + "llvm\(llvmMajorVersion)\n# build \(build)\n# settings \(settings)") + "-step"
    }
}

/// The file that holds this code (the executable, or the shared library Kiln was linked into),
/// named by path, device, inode, size and modification time. Rebuilding writes a new file, so
/// the identity changes with every build; nil when the file cannot be found or is no longer
/// the one mapped (replaced while this process runs: records would be filed under the new
/// build's identity).
enum BuildIdentity {
    static let current: String? = {
        let anchor: @convention(c) () -> Void = {}
        let address = UInt(bitPattern: unsafeBitCast(anchor, to: UnsafeRawPointer.self))
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        for line in maps.split(separator: "\n") {
            // start-end perms offset dev inode path
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, let dash = fields[0].firstIndex(of: "-"),
                  let low = UInt(fields[0][..<dash], radix: 16),
                  let high = UInt(fields[0][fields[0].index(after: dash)...], radix: 16),
                  low <= address, address < high else { continue }
            guard fields.count == 6, let inode = UInt64(fields[4]), inode != 0 else { return nil }
            let path = String(fields[5])
            var info = stat()
            guard stat(path, &info) == 0, UInt64(info.st_ino) == inode else { return nil }
            return "\(path) \(info.st_dev) \(info.st_ino) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
        return nil
    }()
}

extension JITSession {
    /// The record stored under `key` with its objects added to the JIT and its functions looked
    /// up, or nil when the record or any of its objects is missing or damaged (then the step is
    /// compiled as usual). `touchedJIT` says whether objects were added before a failure: their
    /// names are then taken, and the compile that follows must use a new prefix.
    func loadStep(_ key: String, touchedJIT: inout Bool) -> (record: StepRecord, symbols: [String: UInt64])? {
        guard let cache, let data = cache.load(key),
              let record = try? JSONDecoder().decode(StepRecord.self, from: data), record.isConsistent else { return nil }
        var objects: [Data] = []
        for objectKey in record.objectKeys {
            guard let object = cache.load(objectKey) else { return nil }
            objects.append(object)
        }
        touchedJIT = true
        guard let symbols = try? addObjects(objects, symbols: record.functions) else { return nil }
        return (record, symbols)
    }

    /// Stores `record` under `key` (best effort, like every cache write).
    func storeStep(_ key: String, _ record: StepRecord) {
        guard let cache, let data = try? JSONEncoder().encode(record) else { return }
        cache.store(key, data)
    }
}
