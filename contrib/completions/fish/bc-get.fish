# fish completion for bc-get. Generated from its command line by
# `go test ./pkg/deploy -run TestCompletions -update`; do not edit.
complete -c bc-get -f
complete -c bc-get -l dir -x -a '(__fish_complete_directories)' -d 'Chain directory of the node to talk to: the address its bc-serve listens on is read from there'
complete -c bc-get -l help -s h -d 'Show context-sensitive help'
complete -c bc-get -l json -d 'Print JSON even on a terminal (it is the default when stdout is not one)'
complete -c bc-get -l log-backups -x -d 'Rotated log files to keep'
complete -c bc-get -l log-file -r -F -d 'Write the log to FILE instead of stderr (for programs with a chain directory, a relative path is inside --dir, e.g'
complete -c bc-get -l log-format -x -a 'text json' -d 'Log format: text or json'
complete -c bc-get -l log-level -x -a 'debug info warn error' -d 'Log level: debug, info, warn or error'
complete -c bc-get -l log-max-size -x -d 'Size in MiB at which --log-file is rotated'
complete -c bc-get -l node -x -d 'Node to talk to: host:port, host (port 12345) or http://host:port (default: the node serving --dir, else localhost:12345)'
complete -c bc-get -l timeout -x -d 'Timeout of each request'
complete -c bc-get -l version -d 'Print the version and exit'
complete -c bc-get -n 'test (count (commandline -opc | string match -v -- "-*")) -eq 1' -a 'chain neighbours data health block status'
