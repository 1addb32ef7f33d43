import CLMDB

/// A read or write transaction.
///
/// Lifetime: a transaction exists only for the call that was handed it (`LMDBEnvironment.read`'s
/// body, or one batch on the writer thread). Every `UnsafeRawBufferPointer` it returns points into
/// LMDB's memory map and is valid only until the transaction ends or, in a write transaction, until
/// the next write to the same database. Callers copy out what they keep. Not `Sendable`: one thread
/// uses a transaction at a time.
struct LMDBTransaction {
    let handle: OpaquePointer
    let isReadOnly: Bool

    /// The snapshot a read transaction sees, or the id a write transaction commits as
    /// (`mdb_txn_id`): later commits have larger ids.
    var id: UInt64 { UInt64(mdb_txn_id(handle)) }

    /// The value at `key`, or nil. The bytes are borrowed from the map (see the type's lifetime).
    func get(_ database: LMDBDatabase, _ key: UnsafeRawBufferPointer) throws(EngramError) -> UnsafeRawBufferPointer? {
        var keyValue = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var dataValue = MDB_val()
        let rc = mdb_get(handle, database.handle, &keyValue, &dataValue)
        if rc == MDB_NOTFOUND { return nil }
        try LMDBEnvironment.check(rc, "mdb_get(\(database.name))")
        return UnsafeRawBufferPointer(start: dataValue.mv_data, count: dataValue.mv_size)
    }

    func put(_ database: LMDBDatabase, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(EngramError) {
        precondition(!isReadOnly, "put on a read-only transaction")
        var keyValue = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var dataValue = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try LMDBEnvironment.check(mdb_put(handle, database.handle, &keyValue, &dataValue, 0), "mdb_put(\(database.name))")
    }

    /// Reserves `byteCount` bytes for the value at `key` and lets `fill` write them in place,
    /// saving a copy of large values.
    func put(_ database: LMDBDatabase, _ key: UnsafeRawBufferPointer, reserving byteCount: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) throws(EngramError) {
        precondition(!isReadOnly, "put on a read-only transaction")
        var keyValue = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var dataValue = MDB_val(mv_size: byteCount, mv_data: nil)
        try LMDBEnvironment.check(mdb_put(handle, database.handle, &keyValue, &dataValue, UInt32(MDB_RESERVE)), "mdb_put(\(database.name), reserve)")
        fill(UnsafeMutableRawBufferPointer(start: dataValue.mv_data, count: byteCount))
    }

    /// Deletes `key`; returns whether it was there.
    @discardableResult
    func delete(_ database: LMDBDatabase, _ key: UnsafeRawBufferPointer) throws(EngramError) -> Bool {
        precondition(!isReadOnly, "delete on a read-only transaction")
        var keyValue = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let rc = mdb_del(handle, database.handle, &keyValue, nil)
        if rc == MDB_NOTFOUND { return false }
        try LMDBEnvironment.check(rc, "mdb_del(\(database.name))")
        return true
    }

    func cursor(_ database: LMDBDatabase) throws(EngramError) -> LMDBCursor {
        var cursor: OpaquePointer?
        try LMDBEnvironment.check(mdb_cursor_open(handle, database.handle, &cursor), "mdb_cursor_open(\(database.name))")
        return LMDBCursor(handle: cursor!, database: database)
    }

    /// Runs `body` with a cursor that is closed when it returns.
    func withCursor<Result>(_ database: LMDBDatabase, _ body: (LMDBCursor) throws(EngramError) -> Result) throws(EngramError) -> Result {
        let cursor = try cursor(database)
        defer { cursor.close() }
        return try body(cursor)
    }

    func entryCount(_ database: LMDBDatabase) throws(EngramError) -> Int {
        var stat = MDB_stat()
        try LMDBEnvironment.check(mdb_stat(handle, database.handle, &stat), "mdb_stat(\(database.name))")
        return stat.ms_entries
    }

    func commit() throws(EngramError) {
        let environment = mdb_txn_env(handle)
        let rc = mdb_txn_commit(handle)
        if rc != 0 { throw LMDBCommitFailure.error(rc, environment: environment) }
    }

    func abort() {
        mdb_txn_abort(handle)
    }
}

/// A position in one database, owned by one transaction and closed before it ends.
struct LMDBCursor {
    typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    let handle: OpaquePointer
    let database: LMDBDatabase

    func close() { mdb_cursor_close(handle) }

    /// The first entry whose key is at or after `key`.
    func seek(atOrAfter key: UnsafeRawBufferPointer) throws(EngramError) -> Entry? {
        var keyValue = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        return try move(MDB_SET_RANGE, &keyValue)
    }

    func next() throws(EngramError) -> Entry? {
        var keyValue = MDB_val()
        return try move(MDB_NEXT, &keyValue)
    }

    func previous() throws(EngramError) -> Entry? {
        var keyValue = MDB_val()
        return try move(MDB_PREV, &keyValue)
    }

    func first() throws(EngramError) -> Entry? {
        var keyValue = MDB_val()
        return try move(MDB_FIRST, &keyValue)
    }

    func last() throws(EngramError) -> Entry? {
        var keyValue = MDB_val()
        return try move(MDB_LAST, &keyValue)
    }

    /// Deletes the entry under the cursor (write transactions only).
    func deleteCurrent() throws(EngramError) {
        try LMDBEnvironment.check(mdb_cursor_del(handle, 0), "mdb_cursor_del(\(database.name))")
    }

    private func move(_ operation: MDB_cursor_op, _ keyValue: inout MDB_val) throws(EngramError) -> Entry? {
        var dataValue = MDB_val()
        let rc = mdb_cursor_get(handle, &keyValue, &dataValue, operation)
        if rc == MDB_NOTFOUND { return nil }
        try LMDBEnvironment.check(rc, "mdb_cursor_get(\(database.name))")
        return (UnsafeRawBufferPointer(start: keyValue.mv_data, count: keyValue.mv_size),
                UnsafeRawBufferPointer(start: dataValue.mv_data, count: dataValue.mv_size))
    }
}
