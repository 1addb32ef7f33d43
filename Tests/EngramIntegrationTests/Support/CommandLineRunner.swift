#if canImport(Glibc)
import Glibc
#endif

/// What a run of the `engram` command line gave: its exit status and standard output.
struct CommandOutcome: Equatable {
    let status: Int32
    let output: String
}

/// Runs the debug `engram` with `arguments` against `port`, standard output to a pipe (so not a
/// terminal) and standard error to /dev/null; waits for it to end.
func runEngram(_ port: Int, _ arguments: [String]) -> CommandOutcome {
    runProduct("engram", arguments + ["--port", "\(port)"])
}

/// Runs the debug build's program `name` with `arguments`, standard output to a pipe (so not a
/// terminal) and standard error to /dev/null; waits for it to end.
func runProduct(_ name: String, _ arguments: [String]) -> CommandOutcome {
    let program = ServerProcess.productsDirectory + "/" + name
    var pipeDescriptors: [Int32] = [0, 0]
    guard pipe(&pipeDescriptors) == 0 else { return CommandOutcome(status: -1, output: "pipe failed: errno \(errno)") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipeDescriptors[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipeDescriptors[0])
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, program, &actions, nil, argv, environ)
    close(pipeDescriptors[1])
    guard rc == 0 else {
        close(pipeDescriptors[0])
        return CommandOutcome(status: -1, output: "posix_spawn \(program) failed: \(rc)")
    }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(pipeDescriptors[0], &chunk, chunk.count)
        if count <= 0 { break }
        output += chunk[0..<count]
    }
    close(pipeDescriptors[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return CommandOutcome(status: (status >> 8) & 0xFF, output: String(decoding: output, as: UTF8.self))
}
