#if canImport(Glibc)
import Glibc
#endif
import EngramExport

/// A throwaway PostgreSQL cluster for one test: `initdb` in a temporary folder, started on a
/// free loopback port with fsync off, stopped by its own data folder (never touching a cluster it
/// did not start). `initdb` refuses to run as root, so as root it runs as the `postgres` user,
/// which owns the folder; otherwise it runs as the current user.
final class PostgresCluster: Sendable {
    /// The newest Debian PostgreSQL's programs, `/usr/lib/postgresql/<major>/bin` (tools/test
    /// installs the `postgresql` package), or nil when none is installed.
    static let binaries: String? = {
        var found = glob_t()
        defer { globfree(&found) }
        guard glob("/usr/lib/postgresql/*/bin/initdb", 0, nil, &found) == 0 else { return nil }
        let paths = (0..<Int(found.gl_pathc)).compactMap { found.gl_pathv[$0].map { String(cString: $0) } }
        let majors = paths.compactMap { path -> (Int, String)? in
            let parts = path.split(separator: "/")
            guard parts.count >= 5, let major = Int(parts[3]) else { return nil }
            return (major, String(path.dropLast("/initdb".count)))
        }
        return majors.max { $0.0 < $1.0 }?.1
    }()
    let directory: String
    let port: Int
    let runAsPostgres: Bool

    var settings: PostgresSettings {
        PostgresSettings(host: "127.0.0.1", port: port, user: "postgres", password: nil, database: "postgres")
    }

    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    /// The directory of the PostgreSQL programs; a clear failure when there is none, rather than
    /// a skipped test that passes.
    static func programs() throws -> String {
        guard let binaries, access(binaries + "/initdb", X_OK) == 0 else {
            throw TestFailure("no PostgreSQL under /usr/lib/postgresql/*/bin: tools/test installs the postgresql package (apt-get install postgresql)")
        }
        return binaries
    }

    private init(directory: String, port: Int, runAsPostgres: Bool) {
        self.directory = directory
        self.port = port
        self.runAsPostgres = runAsPostgres
    }

    static func start() throws -> PostgresCluster {
        let binaries = try programs()
        let directory = try makeTemporaryDirectory(prefix: "engram-export-pg")
        let runAsPostgres = getuid() == 0
        if runAsPostgres { try run(["/bin/chown", "postgres:postgres", directory]) }
        let cluster = PostgresCluster(directory: directory, port: try freePort(), runAsPostgres: runAsPostgres)
        try cluster.command([binaries + "/initdb", "-D", directory + "/data", "--auth=trust", "--username=postgres", "-E", "UTF8", "--no-locale"])
        // Trust for everyone but `exporter`, who must give a password: the bad-credentials test.
        let hba = directory + "/data/pg_hba.conf"
        try writeFile(hba, "host all exporter 127.0.0.1/32 scram-sha-256\n" + (try readFile(hba)))
        let options = "-p \(cluster.port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        try cluster.command([binaries + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-o", options, "start"])
        try cluster.psql(["-c", "CREATE ROLE exporter LOGIN SUPERUSER PASSWORD '\(exporterPassword)'"])
        return cluster
    }

    /// The password of the `exporter` role, the one role that authenticates with a password.
    static let exporterPassword = "right horse battery"

    /// Stops the cluster (fast shutdown) and removes its folder.
    func stop() {
        guard let binaries = Self.binaries else { return }
        try? command([binaries + "/pg_ctl", "-D", directory + "/data", "-m", "fast", "-w", "stop"])
        _ = try? Self.run(["/bin/rm", "-rf", directory])
    }

    /// Runs a program as the cluster's owner.
    func command(_ arguments: [String]) throws {
        try Self.run(runAsPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + arguments : arguments)
    }

    /// `psql` with the given arguments; returns its standard output.
    @discardableResult
    func psql(_ arguments: [String], database: String = "postgres") throws -> String {
        try Self.run([try Self.programs() + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", database] + arguments)
    }

    /// Runs a program, waits, and throws with its output if it fails. Returns standard output.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let outputPath = try makeTemporaryDirectory(prefix: "engram-run") + "/output"
        defer { unlink(outputPath); rmdir(String(outputPath.dropLast("/output".count))) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
        guard rc == 0 else { throw TestFailure("cannot start \(arguments[0]): \(rc)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? readFile(outputPath)) ?? ""
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            throw TestFailure("\(arguments.joined(separator: " ")) failed (status \(status)): \(output)")
        }
        return output
    }

    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("cannot find a free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func makeTemporaryDirectory(prefix: String) throws -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    guard let pointer = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw TestFailure("mkdtemp failed: errno \(errno)")
    }
    return String(cString: pointer)
}

func writeFile(_ path: String, _ text: String) throws {
    let descriptor = open(path, O_WRONLY | O_TRUNC)
    guard descriptor >= 0 else { throw TestFailure("cannot open \(path) for writing") }
    defer { close(descriptor) }
    let bytes = Array(text.utf8)
    guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else { throw TestFailure("cannot write \(path)") }
}

func readFile(_ path: String) throws -> String {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw TestFailure("cannot open \(path)") }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = read(descriptor, &buffer, buffer.count)
        if count <= 0 { break }
        bytes.append(contentsOf: buffer[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}
