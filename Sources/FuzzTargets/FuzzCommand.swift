import Foundation

/// `mydata-fuzz` without libFuzzer: replays inputs (a crash libFuzzer found, or the corpus)
/// through the same target functions, and writes the seed corpus.
public enum FuzzCommand {
    static let usage = """
        usage: mydata-fuzz replay [-v] <target> <file or directory>...   run each input through <target>
                                                                          (-v: say whether each was accepted)
               mydata-fuzz seeds <corpus directory>                       write the seed corpus (<dir>/<target>/…)
               mydata-fuzz list                                           the targets
        Fuzzing needs the libFuzzer build: .ci/fuzz, or docs/fuzzing.md.
        """

    /// Runs the command in `arguments` (as `CommandLine.arguments`) and exits: 0 when done, 2 on a usage error.
    public static func main(_ arguments: [String]) {
        let args = Array(arguments.dropFirst())
        switch args.first {
        case "replay" where args.count >= 3:
            let verbose = args.contains("-v")
            let args = args.filter { $0 != "-v" }
            guard let target = FuzzTarget(rawValue: args[1]) else { fail("unknown target '\(args[1])'") }
            var count = 0
            for path in args[2...] {
                for file in inputs(at: path) {
                    guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)") }
                    let rejection = target.run([UInt8](data))
                    if verbose { print("\(file): " + (rejection.map { "rejected: \($0)" } ?? "accepted")) }
                    count += 1
                }
            }
            print("\(target.rawValue): \(count) inputs replayed, none crashed")
            exit(0)
        case "seeds" where args.count == 2:
            do { try FuzzSeeds.write(to: URL(fileURLWithPath: args[1])) } catch { fail("cannot write the seeds: \(error)") }
            exit(0)
        case "list":
            print(FuzzTarget.allCases.map(\.rawValue).joined(separator: "\n"))
            exit(0)
        default:
            fail(usage)
        }
    }

    /// The file at `path`, or the files under it, in name order.
    public static func inputs(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { fail("no such file: \(path)") }
        guard isDirectory.boolValue else { return [path] }
        let names = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String]) ?? []
        return names.sorted().map { "\(path)/\($0)" }.filter {
            var dir: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &dir) && !dir.boolValue
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(2)
    }
}
