# Stub Vivado commands for checking generated scripts with plain tclsh (no Vivado here).
# Each stub records its call in ::calls and checks what it can: files exist, the part and top
# are set, the order of the implementation steps. A failed check is a Tcl error (exit code 1).
set ::calls {}
set ::state {}
proc record {name args} { lappend ::calls [list $name {*}$args] }
proc need {cond msg} { if {![uplevel 1 [list expr $cond]]} { error "stub check: $msg" } }
proc create_project {args} {
    record create_project {*}$args
    need {[lsearch $args -part] >= 0} "create_project without -part"
    lappend ::state project
}
proc read_verilog {f} {
    record read_verilog $f
    need {[file isfile $f]} "read_verilog: $f does not exist"
}
proc add_files {args} {
    record add_files {*}$args
    need {[file isfile [lindex $args end]]} "add_files: [lindex $args end] does not exist"
}
proc synth_design {args} {
    record synth_design {*}$args
    need {[lsearch $::state project] >= 0} "synth_design before create_project"
    need {[lsearch $args -top] >= 0} "synth_design without -top"
    lappend ::state synth
}
proc get_ports {p} { record get_ports $p; return $p }
proc create_clock {args} {
    record create_clock {*}$args
    need {[lsearch $::state synth] >= 0} "create_clock before synth_design"
}
foreach step {opt_design place_design route_design} {
    proc $step {args} [subst -nocommands {
        record $step {*}\$args
        need {[lsearch \$::state synth] >= 0} "$step before synth_design"
        lappend ::state $step
    }]
}
foreach report {report_utilization report_timing_summary write_checkpoint} {
    proc $report {args} [subst -nocommands {
        record $report {*}\$args
        need {[lsearch \$::state route_design] >= 0} "$report before route_design"
    }]
}
source [lindex $argv 0]
foreach c $::calls { puts $c }
