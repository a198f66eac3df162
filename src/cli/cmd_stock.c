/* `sagactl stock [ITEM]` reads stock levels; `sagactl stock set ITEM N`
 * sets one (PUT /stock/{itemId}). */
#include "cli/cmd_stock.h"
#include "cli/out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_cmd_t STOCK = {
    "stock", "stock [ITEM] [--json] | stock set ITEM N",
    "Without ITEM: every item and its quantity. With ITEM: that item (exit 1\n"
    "if there is none). `stock set ITEM N` sets the quantity of ITEM to N (a\n"
    "non-negative integer), creating the item if new.\n"};

#define HINT_ITEM "`sagactl stock` lists the items; `sagactl stock set ITEM N` adds one"

static void add_row(out_table_t *t, const cJSON *it, int64_t now)
{
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(it, "quantity");
    int64_t ms;
    char a[64], r[32];
    out_table_row(t);
    out_table_cell(t, cli_str(it, "itemId"), OUT_PLAIN);
    if (cJSON_IsNumber(q))
        out_table_cellf(t, q->valuedouble > 0 ? OUT_PLAIN : OUT_RED, "%lld", (long long)q->valuedouble);
    else
        out_table_cell(t, "?", OUT_PLAIN);
    if (out_time_parse(cli_str(it, "updatedAt"), &ms) == 0)
        out_table_cellf(t, OUT_PLAIN, "%s (%s)", out_time_abs(ms, a, sizeof a),
                        out_time_ago(ms, now, r, sizeof r));
    else
        out_table_cell(t, cli_str(it, "updatedAt"), OUT_PLAIN);
}

/* Prints one item or {"stock": [...]} as a table. */
static void print_stock(const cJSON *body)
{
    int64_t now = out_now_ms();
    out_table_t *t = out_table_new(3);
    out_table_row(t);
    out_table_cell(t, "ITEM", OUT_PLAIN);
    out_table_cell(t, "QUANTITY", OUT_PLAIN);
    out_table_cell(t, "UPDATED", OUT_PLAIN);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "stock");
    if (arr) {
        const cJSON *it;
        cJSON_ArrayForEach(it, arr)
            add_row(t, it, now);
    } else {
        add_row(t, body, now);
    }
    if (arr && cJSON_GetArraySize(arr) == 0)
        fprintf(stderr, "no items in stock; add one with `sagactl stock set ITEM N`\n");
    else
        out_table_print(t, stdout, 1);
    out_table_free(t);
}

static void show_stock(const cJSON *body, void *arg)
{
    (void)arg;
    print_stock(body);
}

static int call_and_print(cli_t *cli, const char *method, const char *path, const char *body)
{
    return cli_call_show(cli, method, path, body, HINT_ITEM, show_stock, NULL);
}

int cmd_stock(cli_t *cli, int argc, char **argv)
{
    char *pos[3];
    size_t np;
    int rc = cli_parse(cli, &STOCK, argc, argv, NULL, 0, pos, 0, 3, &np);
    if (rc >= 0)
        return rc;
    char path[1024] = "/stock/";
    if (np >= 1 && strcmp(pos[0], "set") == 0 && np != 1) {
        if (np != 3)
            return cli_usage_error(&STOCK, "stock set needs ITEM and N");
        char *end;
        long long n = strtoll(pos[2], &end, 10);
        if (!*pos[2] || *end || n < 0)
            return cli_usage_error(&STOCK, "N must be a non-negative integer, not '%s'", pos[2]);
        if (!*pos[1] || cli_url_escape(path, sizeof path, pos[1]) < 0)
            return cli_usage_error(&STOCK, "ITEM must be 1 to 300 characters");
        char body[64];
        snprintf(body, sizeof body, "{\"quantity\":%lld}", n);
        return call_and_print(cli, "PUT", path, body);
    }
    if (np > 1)
        return cli_usage_error(&STOCK, "unexpected argument '%s'", pos[1]);
    if (np == 0)
        return call_and_print(cli, "GET", "/stock", NULL);
    if (!*pos[0] || cli_url_escape(path, sizeof path, pos[0]) < 0)
        return cli_usage_error(&STOCK, "ITEM must be 1 to 300 characters");
    return call_and_print(cli, "GET", path, NULL);
}
