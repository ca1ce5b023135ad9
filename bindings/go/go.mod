module mayfly.dev/mayfly

go 1.22
