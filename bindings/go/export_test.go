package mayfly

// LiveCallbacks returns how many callback handles mayfly still holds, so
// tests can check that each destroy ran.
func LiveCallbacks() int64 { return liveCallbacks.Load() }
