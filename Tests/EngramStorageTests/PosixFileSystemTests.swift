@testable import EngramStorage
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct PosixFileSystemTests {
    /// The crash tool's round 445: `engramd` died of SIGSEGV in recovery listing the episodic
    /// directory, because it copied each whole `struct dirent` (280 bytes) while glibc packs a
    /// short entry into less. Here an entry with a four-byte name ends exactly at a page that
    /// cannot be read: reading the name must not touch it.
    @Test func anEntryIsReadNoFurtherThanItsName() throws {
        let pageBytes = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapping = mmap(nil, pageBytes * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        let pages = try #require(mapping == MAP_FAILED ? nil : mapping)
        defer { munmap(pages, pageBytes * 2) }
        #expect(mprotect(pages + pageBytes, pageBytes, PROT_NONE) == 0)
        let nameOffset = try #require(MemoryLayout<dirent>.offset(of: \dirent.d_name))
        let name: [UInt8] = Array("abcd".utf8) + [0]
        // The entry's name ends on the guard page's first byte, its start aligned as a dirent's.
        var start = pageBytes - nameOffset - name.count
        start -= start % MemoryLayout<dirent>.alignment
        let nameStart = pages + start + nameOffset
        let padding = pageBytes - (start + nameOffset + name.count)
        nameStart.initializeMemory(as: UInt8.self, repeating: 0x41, count: padding)
        (nameStart + padding).copyMemory(from: name, byteCount: name.count)
        let entry = (pages + start).bindMemory(to: dirent.self, capacity: 1)
        #expect(PosixFileSystem.name(of: entry) == String(repeating: "A", count: padding) + "abcd")
    }

    @Test func aDirectoryOfNamesOfEveryLengthIsListedExactly() throws {
        let directory = TemporaryDirectory("engram-posix-listing")
        let fileSystem = PosixFileSystem()
        var names: Set<String> = []
        for index in 0..<1_000 {
            // Lengths 2 to 249, so the entries pack into glibc's buffer at every alignment.
            let prefix = "\(index)."
            let name = prefix + String(repeating: "x", count: max(0, index % 250 - prefix.count))
            let handle = try fileSystem.open(Path.join(directory.path, name), create: true)
            handle.close()
            names.insert(name)
        }
        #expect(Set(try fileSystem.contentsOfDirectory(directory.path)) == names)
        #expect(try fileSystem.contentsOfDirectory(directory.path).count == names.count)
    }
}
