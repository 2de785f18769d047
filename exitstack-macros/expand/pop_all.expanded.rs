fn open_all(log: &Log, names: &[&str]) -> Result<usize, String> {
    let __exitstack_scope = ::exitstack::__private::ErrorWatch::new();
    let __exitstack_ret = ::exitstack::__private::Ret::<Result<usize, String>>::new();
    ::exitstack::__private::call_once(
        &__exitstack_ret,
        || {
            #[allow(unused_imports)]
            use cleanup as _;
            let close_all = {
                ::exitstack::__private::Guard::watching(
                    &__exitstack_scope,
                    ::exitstack::__private::When::Always,
                    |_| {
                        log.push("close all");
                    },
                )
            };
            let _ = &close_all;
            #[allow(unused_imports)]
            use cleanup as _;
            let audit = {
                <_ as ::exitstack::Fallible>::__exitstack_can_fail(__exitstack_ret.ty());
                ::exitstack::__private::Guard::watching(
                    &__exitstack_scope,
                    ::exitstack::__private::When::Failure,
                    |outcome: Outcome| log.push(outcome),
                )
            };
            let _ = &audit;
            if names.len() > 1 {
                __exitstack_scope.cancel_all();
            }
            if let ::core::result::Result::Err(__exitstack_error) = ::exitstack::__private::catch(|| -> ::core::result::Result<
                (),
                _,
            > {
                anyhow::ensure!(! names.is_empty(), "no names");
                ::core::result::Result::Ok(())
            }) {
                return {
                    let __exitstack_value: Result<usize, String> = ::core::result::Result::Err(
                        __exitstack_error,
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
            {
                let __exitstack_value: Result<usize, String> = Ok(names.len());
                #[allow(unreachable_code)]
                let __exitstack_returned = {
                    ::exitstack::__private::Observe(&__exitstack_value)
                        .__exitstack_observe(&__exitstack_scope);
                    ::exitstack::__private::returned(__exitstack_value)
                };
                __exitstack_returned
            }
        },
    )
}
