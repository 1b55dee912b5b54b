# fish completion for bc-add. Generated from its command line by
# `go test ./pkg/deploy -run TestCompletions -update`; do not edit.
complete -c bc-add -f
complete -c bc-add -l dir -x -a '(__fish_complete_directories)' -d 'Chain directory of the node to talk to: the address its bc-serve listens on is read from there'
complete -c bc-add -l help -s h -d 'Show context-sensitive help'
complete -c bc-add -l log-backups -x -d 'Rotated log files to keep'
complete -c bc-add -l log-file -r -F -d 'Write the log to FILE instead of stderr (for programs with a chain directory, a relative path is inside --dir, e.g'
complete -c bc-add -l log-format -x -a 'text json' -d 'Log format: text or json'
complete -c bc-add -l log-level -x -a 'debug info warn error' -d 'Log level: debug, info, warn or error'
complete -c bc-add -l log-max-size -x -d 'Size in MiB at which --log-file is rotated'
complete -c bc-add -l node -x -d 'Node to talk to: host:port, host (port 12345) or http://host:port (default: the node serving --dir, else localhost:12345)'
complete -c bc-add -l timeout -x -d 'Timeout of each request'
complete -c bc-add -l version -d 'Print the version and exit'
complete -c bc-add -l wait -d 'Wait until each message is in a block and print the block\'s index after its id'
complete -c bc-add -l wait-for -x -d 'How long --wait waits'
complete -c bc-add -F
