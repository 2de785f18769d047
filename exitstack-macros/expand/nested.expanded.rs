fn nested(log: &Log, choice: u8) -> Result<u8, Failed> {
    let __exitstack_scope = ::exitstack::__private::ErrorWatch::new();
    let __exitstack_ret = ::exitstack::__private::Ret::<Result<u8, Failed>>::new();
    ::exitstack::__private::call_once(
        &__exitstack_ret,
        || {
            #[allow(unused_imports)]
            use defer as _;
            let __exitstack_guard = {
                ::exitstack::__private::Guard::watching(
                    &__exitstack_scope,
                    ::exitstack::__private::When::Success,
                    |_| { log.push("committed") },
                )
            };
            let values = items
                .iter()
                .map(|item| {
                    #[allow(unused_imports)]
                    use defer as _;
                    let __exitstack_guard = ::exitstack::__private::Defer::new(|| {
                        log.push("item done")
                    });
                    item.check()
                });
            'outer: loop {
                let inner = 'outer: {
                    break 'outer Err(Failed);
                };
                match choice {
                    0 => {
                        #[allow(unused_imports)]
                        use defer as _;
                        let __exitstack_guard = {
                            <_ as ::exitstack::Fallible>::__exitstack_can_fail(
                                __exitstack_ret.ty(),
                            );
                            ::exitstack::__private::Guard::watching(
                                &__exitstack_scope,
                                ::exitstack::__private::When::Error,
                                |_| { log.push("inner rolled back") },
                            )
                        };
                        break 'outer {
                            let __exitstack_value: Result<u8, Failed> = Err(Failed);
                            #[allow(unreachable_code)]
                            let __exitstack_returned = {
                                ::exitstack::__private::Observe(&__exitstack_value)
                                    .__exitstack_observe(&__exitstack_scope);
                                ::exitstack::__private::returned(__exitstack_value)
                            };
                            __exitstack_returned
                        };
                    }
                    n => {
                        break {
                            let __exitstack_value: Result<u8, Failed> = Ok(
                                format!(
                                    "{}", match ::exitstack::__private::branch(values.count()) {
                                    ::core::ops::ControlFlow::Continue(__exitstack_value) =>
                                    __exitstack_value,
                                    ::core::ops::ControlFlow::Break(__exitstack_residual) =>
                                    return { let __exitstack_value : Result < u8, Failed > =
                                    ::exitstack::__private::residual(& __exitstack_ret, move ||
                                    match __exitstack_residual ? {}); #[allow(unreachable_code)]
                                    let __exitstack_returned = {
                                    ::exitstack::__private::Observe(& __exitstack_value)
                                    .__exitstack_observe(& __exitstack_scope);
                                    ::exitstack::__private::returned(__exitstack_value) };
                                    __exitstack_returned }, }
                                ) + n,
                            );
                            #[allow(unreachable_code)]
                            let __exitstack_returned = {
                                ::exitstack::__private::Observe(&__exitstack_value)
                                    .__exitstack_observe(&__exitstack_scope);
                                ::exitstack::__private::returned(__exitstack_value)
                            };
                            __exitstack_returned
                        };
                    }
                }
            }
        },
    )
}
