// swift-tools-version:6.1
// Engram's libFuzzer targets, as a package of their own: `--sanitize fuzzer` compiles every
// executable of a package as a library entry point, which the main package's executables cannot
// take. Build and run them with `tools/fuzz` (docs/TESTING.md); the build that works here is
// `swift build -c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld`.
//
// Adding a target: a folder `Targets/<name>/` holding one file that defines
// `LLVMFuzzerTestOneInput` (see any existing target), and one line below naming the folder and the
// Engram product it needs. `tools/fuzz` finds it from the folder; seeds go in `Corpus/<name>/`.
import PackageDescription

let fuzzTargets: [(name: String, product: String)] = [
    ("commit-log", "EngramStorage"),
    ("redo", "EngramStorage"),
    ("checkpoint", "EngramStorage"),
    ("semantic-fact", "EngramStorage"),
    ("episodic-block", "EngramStorage"),
    ("episodic-tail", "EngramStorage"),
    ("records", "EngramStorage"),
    ("hot-tier", "EngramStorage"),
    // The wire protocol's frame decoder and message bodies (NIOCore only).
    ("frame", "EngramProtocol"),
    ("message", "EngramProtocol"),
]

let package = Package(
    name: "EngramFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Engram", path: ".."),
    ],
    targets: fuzzTargets.map { target in
        .executableTarget(
            name: "fuzz-\(target.name)",
            dependencies: [.product(name: target.product, package: "Engram")],
            path: "Targets/\(target.name)"
        )
    },
    swiftLanguageModes: [.v6]
)
