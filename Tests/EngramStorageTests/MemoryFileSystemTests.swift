import EngramStorage
import Testing

/// The in-memory file system behaves as `PosixFileSystem` does for everything the engine calls.
@Suite struct MemoryFileSystemTests {
    @Test func filesAreReadWrittenGrownAndCut() throws {
        let fileSystem = MemoryFileSystem()
        try fileSystem.createDirectory("/data")
        let handle = try fileSystem.open("/data/file", create: true)
        #expect(try handle.size() == 0)
        try handle.write(bytes("hello"), at: 3)
        #expect(fileSystem.contents(of: "/data/file") == [0, 0, 0] + bytes("hello"))
        #expect(try handle.read(byteCount: 4, at: 6) == bytes("lo"))
        #expect(try handle.read(byteCount: 4, at: 100) == [])
        try handle.allocate(byteCount: 12)
        #expect(try handle.size() == 12)
        try handle.allocate(byteCount: 4)
        #expect(try handle.size() == 12, "allocating never shrinks a file")
        try handle.truncate(to: 5)
        #expect(fileSystem.contents(of: "/data/file") == [0, 0, 0] + bytes("he"))
        try handle.sync()
        handle.close()
    }

    @Test func directoriesListTheirOwnEntriesOnly() throws {
        let fileSystem = MemoryFileSystem()
        try fileSystem.createDirectory("/data")
        try fileSystem.createDirectory("/data/log/")
        try fileSystem.createDirectory("/data/log")
        try fileSystem.setContents(bytes("a"), of: "/data/log/1.log")
        try fileSystem.setContents(bytes("b"), of: "/data/checkpoint")
        #expect(try fileSystem.contentsOfDirectory("/data").sorted() == ["checkpoint", "log"])
        #expect(try fileSystem.contentsOfDirectory("/data/log/") == ["1.log"])
        #expect(fileSystem.exists("/data/log"))
        #expect(fileSystem.exists("/data/log/1.log"))
        #expect(!fileSystem.exists("/data/log/2.log"))
        try fileSystem.syncDirectory("/data/log")
    }

    @Test func missingParentsAndFilesAreErrorsAsOnDisk() throws {
        let fileSystem = MemoryFileSystem()
        let noFile = #expect(throws: EngramError.self) { _ = try fileSystem.open("/missing", create: false) }
        #expect(noFile?.code == .io)
        #expect(noFile?.errno == 2)
        let noParent = #expect(throws: EngramError.self) { _ = try fileSystem.open("/nowhere/file", create: true) }
        #expect(noParent?.errno == 2)
        let noDirectory = #expect(throws: EngramError.self) { try fileSystem.createDirectory("/a/b") }
        #expect(noDirectory?.errno == 2)
        let notListed = #expect(throws: EngramError.self) { _ = try fileSystem.contentsOfDirectory("/a") }
        #expect(notListed?.errno == 2)
        let noSource = #expect(throws: EngramError.self) { try fileSystem.rename("/x", to: "/y") }
        #expect(noSource?.errno == 2)
        try fileSystem.remove("/never-there")
    }

    @Test func anOpenHandleKeepsItsFileThroughARenameOverItAndARemoval() throws {
        let fileSystem = MemoryFileSystem()
        try fileSystem.setContents(bytes("old"), of: "/checkpoint")
        let old = try fileSystem.open("/checkpoint", create: false)
        try fileSystem.setContents(bytes("new"), of: "/checkpoint.tmp")
        try fileSystem.rename("/checkpoint.tmp", to: "/checkpoint")
        #expect(fileSystem.contents(of: "/checkpoint") == bytes("new"))
        #expect(!fileSystem.exists("/checkpoint.tmp"))
        #expect(try old.read(byteCount: 3, at: 0) == bytes("old"))
        try fileSystem.remove("/checkpoint")
        #expect(fileSystem.contents(of: "/checkpoint") == nil)
        #expect(try old.read(byteCount: 3, at: 0) == bytes("old"))
    }
}
