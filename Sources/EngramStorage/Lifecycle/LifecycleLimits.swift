/// The lifecycle's relations between bounds (docs/LIFECYCLE.md, "Bounds"), checked by
/// `Limits.validate()`.
extension Limits {
    func validateLifecycle(_ require: (Bool, @autoclosure () -> String) throws(EngramError) -> Void) throws(EngramError) {
        let positive: [(String, Int)] = [
            ("consolidationPassMilliseconds", consolidationPassMilliseconds),
            ("maintenanceCommandMicrosecondsMax", maintenanceCommandMicrosecondsMax),
            ("maintenanceCommandItemCountMax", maintenanceCommandItemCountMax),
            ("hotTierSweepChunkCountMax", hotTierSweepChunkCountMax),
            ("maintenanceWaitMilliseconds", maintenanceWaitMilliseconds),
        ]
        for (name, value) in positive {
            try require(value > 0, "\(name) must be positive, got \(value)")
        }
        try require(consolidationIntervalMilliseconds >= 0, "consolidationIntervalMilliseconds must not be negative (0 runs no background pass), got \(consolidationIntervalMilliseconds)")
        try require(maintenanceCommandMicrosecondsMax <= consolidationPassMilliseconds * 1_000, "maintenanceCommandMicrosecondsMax \(maintenanceCommandMicrosecondsMax) must fit one pass (consolidationPassMilliseconds \(consolidationPassMilliseconds))")
        let tableCount = Tables.names.count + RecordTables.names.count + LifecycleTables.names.count
        try require(lmdbDatabasesMax >= tableCount, "lmdbDatabasesMax \(lmdbDatabasesMax) must hold the store's \(tableCount) tables")
        // A fold operation of one summary, and a rekey of one entry, must fit the half batch a
        // maintenance command allows itself.
        let oneSummary = RedoFraming.operationBytes(namespaceBytes: namespaceBytesMax, bodyBytes: 20 + LeadEngagementLayout.entryBytes)
        try require(oneSummary * 2 <= batchBytesMax, "a fold of one lead (\(oneSummary) bytes logged) must fit half a batch (batchBytesMax \(batchBytesMax))")
    }
}
