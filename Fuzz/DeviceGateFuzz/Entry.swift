import Foundation

// Two ways in, one set of targets (Targets.swift):
// - built by scripts/fuzz with `-sanitize=fuzzer,address`, libFuzzer is linked in and `main`
//   hands the command line to its driver (LLVMFuzzerRunDriver), which calls
//   `LLVMFuzzerTestOneInput` with each input, for the target named by DEVICEGATE_FUZZ_TARGET;
// - in a normal build there is no libFuzzer, and the executable replays files through a target:
//   `DeviceGateFuzz TARGET FILE|DIRECTORY…`, to reproduce a finding without the sanitizer
//   toolchain. So `swift build` builds and links this product like any other.
// SwiftPM gives every executable module its own entry point, which wins over libFuzzer's `main`;
// that is why the driver is looked up here (scripts/fuzz links it in with `-u`).

/// libFuzzer's entry point. Returns 0 whatever the input: a parser that refuses the input has
/// done its job; only a trap (crash, assertion, sanitizer report, hang) is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    FuzzTargets.selected.run(data)
    return 0
}

@main
enum Replay {
    static func main() {
        if let driver = dlsym(dlopen(nil, RTLD_NOW), "LLVMFuzzerRunDriver") {
            typealias Arguments = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
            typealias Driver =
                @convention(c) (
                    UnsafeMutablePointer<CInt>, UnsafeMutablePointer<Arguments>, @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
                ) -> CInt
            var argc = CommandLine.argc
            var argv: Arguments = CommandLine.unsafeArgv
            exit(unsafeBitCast(driver, to: Driver.self)(&argc, &argv, fuzzOneInput))
        }
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTargets.all[name], arguments.count > 1 else {
            FileHandle.standardError.write(
                Data(
                    """
                    usage: DeviceGateFuzz TARGET FILE|DIRECTORY…
                    Runs each input through one fuzz target (a trap is a finding). Targets: \(FuzzTargets.names.joined(separator: ", "))
                    scripts/fuzz builds this with libFuzzer and runs the targets for real.

                    """.utf8))
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            for file in files(at: path) {
                guard let data = FileManager.default.contents(atPath: file) else {
                    FileHandle.standardError.write(Data("cannot read \(file)\n".utf8))
                    exit(1)
                }
                target.run(data)
                count += 1
            }
        }
        print("\(name): \(count) input(s) ran without a trap")
    }

    static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { path + "/" + $0 }
    }
}
