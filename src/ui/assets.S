/* The web console's files (ui/ at the repository root), compiled into the
 * binary as read-only data; api/ui.c serves them. Each file gets a start and
 * an end symbol; the Makefile rebuilds this object when a file under ui/ changes. */

#define UI_ASSET(sym, path)          \
    .global sym;                     \
    .global sym##_end;               \
    .balign 16;                      \
sym:                                 \
    .incbin path;                    \
sym##_end:

    .section .rodata
UI_ASSET(ui_asset_index_html, "ui/index.html")
UI_ASSET(ui_asset_app_js, "ui/app.js")
UI_ASSET(ui_asset_execution_js, "ui/execution.js")
UI_ASSET(ui_asset_app_css, "ui/app.css")
UI_ASSET(ui_asset_favicon_svg, "ui/favicon.svg")

    .section .note.GNU-stack, "", %progbits
